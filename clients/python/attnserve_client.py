"""Small Python client for attnserve (attnserve.v1.Inference over gRPC).

The gRPC stubs are generated from proto/attnserve/v1/inference.proto with grpc_tools.protoc on
first import, into a cache directory keyed by the proto's content and the grpcio-tools version
(~/.cache/attnserve/stubs/<key>/, or $ATTNSERVE_STUB_CACHE). Nothing generated is committed.
Set $ATTNSERVE_PROTO_DIR when this file is used outside the attnserve source tree.

    from attnserve_client import AttnserveClient
    with AttnserveClient("localhost:50051") as client:
        for chunk in client.generate("Once upon a time", max_tokens=32):
            print(chunk.text, end="", flush=True)
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Optional, Sequence

import grpc

_PROTO_REL = "attnserve/v1/inference.proto"


def _proto_root() -> Path:
    env = os.environ.get("ATTNSERVE_PROTO_DIR")
    root = Path(env) if env else Path(__file__).resolve().parents[2] / "proto"
    if not (root / _PROTO_REL).is_file():
        raise FileNotFoundError(
            f"{root / _PROTO_REL} not found; set ATTNSERVE_PROTO_DIR to the directory holding "
            f"{_PROTO_REL}")
    return root


def _load_stubs():
    """Returns (inference_pb2, inference_pb2_grpc), generating them once per proto version."""
    from grpc_tools import protoc  # grpcio-tools
    import grpc_tools

    root = _proto_root()
    proto = (root / _PROTO_REL).read_bytes()
    tools_version = getattr(grpc_tools, "__version__", "") or grpc.__version__
    key = hashlib.sha256(proto + tools_version.encode()).hexdigest()[:16]
    cache = Path(os.environ.get("ATTNSERVE_STUB_CACHE",
                                Path.home() / ".cache" / "attnserve" / "stubs"))
    out = cache / key
    if not (out / "attnserve" / "v1" / "inference_pb2_grpc.py").is_file():
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=cache))
        include = Path(protoc.__file__).parent / "_proto"  # google/protobuf/*.proto
        rc = protoc.main(["grpc_tools.protoc", f"-I{root}", f"-I{include}",
                          f"--python_out={tmp}", f"--grpc_python_out={tmp}", str(root / _PROTO_REL)])
        if rc != 0:
            raise RuntimeError(f"grpc_tools.protoc failed ({rc}) on {root / _PROTO_REL}")
        try:
            os.replace(tmp, out)  # atomic; another process may have won the race
        except OSError:
            pass
    if str(out) not in sys.path:
        sys.path.insert(0, str(out))
    return (importlib.import_module("attnserve.v1.inference_pb2"),
            importlib.import_module("attnserve.v1.inference_pb2_grpc"))


pb2, pb2_grpc = _load_stubs()

_HEALTH_STATUS = {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}


class AttnserveClient:
    """A connection to one attnserve daemon. Thread-safe (gRPC channels are)."""

    def __init__(self, address: str = "localhost:50051", timeout: Optional[float] = None,
                 api_key: Optional[str] = None, tls_ca: Optional[str] = None,
                 tls_cert: Optional[str] = None, tls_key: Optional[str] = None,
                 tls_server_name: Optional[str] = None):
        """`timeout` (seconds) is the default deadline of every call; None = no deadline.
        `api_key` is sent as "authorization: Bearer <key>" (servers started with --api_key or
        --api_keys_file). TLS (servers started with --tls_cert): `tls_ca` is the PEM file of the
        CA that signed the server's certificate (None with TLS = the system roots); `tls_cert` /
        `tls_key` are this client's certificate and key (mTLS: servers with --tls_client_ca);
        `tls_server_name` overrides the name checked against the server's certificate."""
        self.address = address
        self.timeout = timeout
        self._metadata = (("authorization", f"Bearer {api_key}"),) if api_key else None
        options = [("grpc.max_receive_message_length", -1)]
        if tls_ca or tls_cert:
            def read(path):
                return Path(path).read_bytes() if path else None
            credentials = grpc.ssl_channel_credentials(
                root_certificates=read(tls_ca), private_key=read(tls_key),
                certificate_chain=read(tls_cert))
            if tls_server_name:
                options.append(("grpc.ssl_target_name_override", tls_server_name))
            self._channel = grpc.secure_channel(address, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(address, options=options)
        self._stub = pb2_grpc.InferenceStub(self._channel)
        self._health_check = self._channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=lambda service: b"\x0a" + _varint(len(service)) + service,
            response_deserializer=lambda data: data[1] if len(data) >= 2 else 0)

    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "AttnserveClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _timeout(self, timeout: Optional[float]) -> Optional[float]:
        return self.timeout if timeout is None else timeout

    def generate(self, prompt: Optional[str] = None, *,
                 prompt_token_ids: Optional[Sequence[int]] = None,
                 max_tokens: int = 16,
                 temperature: Optional[float] = None,
                 top_p: Optional[float] = None,
                 top_k: int = 0,
                 seed: Optional[int] = None,
                 stop: Iterable[str] = (),
                 stop_token_ids: Iterable[int] = (),
                 ignore_eos: bool = False,
                 logprobs: bool = False,
                 top_logprobs: int = 0,
                 request_id: str = "",
                 attention: Optional[dict] = None,
                 context_policy: Optional[dict] = None,
                 messages: Optional[Sequence[dict]] = None,
                 add_generation_prompt: bool = True,
                 timeout: Optional[float] = None) -> Iterator["pb2.GenerateResponse"]:
        """Streams GenerateResponse messages; the last has finish_reason and usage.

        `attention` picks the request's attention backend, e.g. {"backend": "sliding_window",
        "window": 256} (fields of attnserve.v1.AttentionConfig; model_info() lists the backends).
        `context_policy` picks how positions are encoded, e.g. {"kind": "yarn", "factor": 4,
        "original_max_position_embeddings": 256} (fields of attnserve.v1.ContextPolicy).
        `messages` ([{"role": "user", "content": "..."}, ...]) replaces the prompt: the server
        renders them with the model's chat template and stops at its end-of-turn tokens.
        Breaking out of the loop cancels the request on the server. Raises grpc.RpcError on a
        non-OK status (e.g. INVALID_ARGUMENT, DEADLINE_EXCEEDED)."""
        sampling = pb2.SamplingParams(top_k=top_k)
        if temperature is not None:
            sampling.temperature = temperature
        if top_p is not None:
            sampling.top_p = top_p
        if seed is not None:
            sampling.seed = seed
        request = pb2.GenerateRequest(
            request_id=request_id, prompt=prompt or "",
            prompt_token_ids=list(prompt_token_ids or ()), max_tokens=max_tokens,
            sampling=sampling, stop=list(stop), stop_token_ids=list(stop_token_ids),
            ignore_eos=ignore_eos, logprobs=logprobs, top_logprobs=top_logprobs)
        if attention:
            request.attention.CopyFrom(pb2.AttentionConfig(**attention))
        if context_policy:
            request.context_policy.CopyFrom(pb2.ContextPolicy(**context_policy))
        for m in messages or ():
            request.messages.add(role=m["role"], content=m.get("content") or "",
                                 name=m.get("name", ""), tool_call_id=m.get("tool_call_id", ""))
        if messages:
            request.add_generation_prompt = add_generation_prompt
        call = self._stub.Generate(request, timeout=self._timeout(timeout), metadata=self._metadata)
        try:
            yield from call
        finally:
            call.cancel()  # no-op when the stream already ended

    def generate_text(self, prompt: Optional[str] = None, **kwargs):
        """Runs generate() to the end; returns (text, token_ids, last_response)."""
        text, ids, last = [], [], None
        for chunk in self.generate(prompt, **kwargs):
            text.append(chunk.text)
            ids.extend(chunk.token_ids)
            last = chunk
        return "".join(text), ids, last

    def chat(self, messages: Sequence[dict], **kwargs):
        """generate() over chat messages, run to the end; returns (text, token_ids, last)."""
        return self.generate_text(None, messages=messages, **kwargs)

    def score(self, prompt: Optional[str] = None, *, token_ids: Optional[Sequence[int]] = None,
              return_logits: bool = False, attention: Optional[dict] = None,
              context_policy: Optional[dict] = None,
              timeout: Optional[float] = None) -> "pb2.ScoreResponse":
        """Teacher-forced logprobs of `prompt` (tokenized with special tokens) or `token_ids`,
        optionally with an attention backend and a context policy as in generate()."""
        request = pb2.ScoreRequest(prompt=prompt or "", token_ids=list(token_ids or ()),
                                   return_logits=return_logits)
        if attention:
            request.attention.CopyFrom(pb2.AttentionConfig(**attention))
        if context_policy:
            request.context_policy.CopyFrom(pb2.ContextPolicy(**context_policy))
        return self._stub.Score(request, timeout=self._timeout(timeout), metadata=self._metadata)

    def tokenize(self, text: str, add_special_tokens: bool = True,
                 timeout: Optional[float] = None) -> list[int]:
        request = pb2.TokenizeRequest(text=text, add_special_tokens=add_special_tokens)
        return list(self._stub.Tokenize(request, timeout=self._timeout(timeout),
                                                metadata=self._metadata).token_ids)

    def detokenize(self, token_ids: Sequence[int], skip_special_tokens: bool = True,
                   timeout: Optional[float] = None) -> str:
        request = pb2.DetokenizeRequest(token_ids=list(token_ids),
                                        skip_special_tokens=skip_special_tokens)
        return self._stub.Detokenize(request, timeout=self._timeout(timeout),
                                     metadata=self._metadata).text

    def model_info(self, timeout: Optional[float] = None) -> "pb2.ModelInfo":
        return self._stub.GetModelInfo(pb2.GetModelInfoRequest(), timeout=self._timeout(timeout),
                                       metadata=self._metadata)

    def server_status(self, timeout: Optional[float] = None) -> "pb2.ServerStatus":
        """Load report: running/waiting requests, KV usage, prefix-cache counters, tokens/s."""
        return self._stub.GetServerStatus(pb2.GetServerStatusRequest(), timeout=self._timeout(timeout),
                                          metadata=self._metadata)

    def health(self, service: str = "", timeout: float = 2.0) -> str:
        """grpc.health.v1 status: "SERVING", "NOT_SERVING", ... (raises grpc.RpcError)."""
        return _HEALTH_STATUS.get(self._health_check(service.encode(), timeout=timeout), "UNKNOWN")


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)

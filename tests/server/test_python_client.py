#!/usr/bin/env python3
"""End-to-end check of clients/python/attnserve_client.py against the real daemon.

Run by ctest (tests/server/CMakeLists.txt) as:
    test_python_client.py --binary build/bin/attnserve --model models/tiny-llama
Starts the daemon on free ports, waits for health SERVING, exercises every client method and the
error path, then stops the daemon with SIGTERM and expects exit code 0.
"""

import argparse
import math
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
os.environ.setdefault("ATTNSERVE_STUB_CACHE", str(Path(tempfile.gettempdir()) / "attnserve-stubs"))

import grpc  # noqa: E402
from attnserve_client import AttnserveClient, pb2  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_serving(client: AttnserveClient, daemon: subprocess.Popen, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if daemon.poll() is not None:
            raise RuntimeError(f"attnserve exited during start-up with {daemon.returncode}")
        try:
            if client.health("attnserve.v1.Inference") == "SERVING":
                return
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    raise RuntimeError("attnserve not SERVING in time")


def check(client: AttnserveClient) -> None:
    info = client.model_info()
    assert info.vocab_size > 0 and info.max_context > 0, info

    text, ids, last = client.generate_text("Once upon a time", max_tokens=8, temperature=0.0,
                                           ignore_eos=True)
    assert len(ids) == 8, ids
    assert last.finish_reason == pb2.LENGTH, last
    assert last.usage.completion_tokens == 8, last.usage
    assert text == client.detokenize(ids), (text, client.detokenize(ids))
    again, ids_again, _ = client.generate_text("Once upon a time", max_tokens=8, temperature=0.0,
                                               ignore_eos=True)
    assert ids_again == ids, (ids, ids_again)

    seeded = [client.generate_text("Hello", max_tokens=8, temperature=1.0, seed=7,
                                   ignore_eos=True)[1] for _ in range(2)]
    assert seeded[0] == seeded[1], seeded

    scored = client.score("The quick brown fox", return_logits=True)
    n = len(scored.token_ids)
    assert len(scored.token_logprobs) == n - 1, scored.token_logprobs
    assert all(lp <= 1e-5 and math.isfinite(lp) for lp in scored.token_logprobs)
    assert len(scored.logits) == n * info.vocab_size

    # Per-request attention: a 2-token window changes the scores; generate takes it too.
    windowed = client.score("The quick brown fox", attention={"backend": "sliding_window", "window": 2})
    assert max(abs(a - b) for a, b in zip(windowed.token_logprobs, scored.token_logprobs)) > 1e-4
    assert len(client.generate_text("Hello", max_tokens=4, ignore_eos=True,
                                    attention={"backend": "performer", "num_features": 64})[1]) == 4
    assert {b.name for b in info.attention_backend_info} >= {"full", "bigbird", "quest", "performer"}

    status = client.server_status()
    assert status.kv_blocks_total > 0 and status.block_size > 0, status
    assert status.tokens_computed_total > 0, status

    tokens = client.tokenize("Hello world", add_special_tokens=False)
    assert client.detokenize(tokens) == "Hello world"

    # Breaking out of a stream cancels it; the server keeps serving.
    for chunk in client.generate(prompt_token_ids=[1, 2, 3], max_tokens=info.max_context - 3,
                                 ignore_eos=True):
        break

    try:
        list(client.generate("bad", max_tokens=0))
        raise AssertionError("max_tokens=0 was accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e
        assert "max_tokens" in e.details(), e.details()

    try:
        list(client.generate(prompt_token_ids=[1, 2], max_tokens=info.max_context - 2,
                             ignore_eos=True, timeout=0.001))
        raise AssertionError("the 1 ms deadline did not fire")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e

    assert client.health() == "SERVING"
    assert len(client.generate_text("Still alive", max_tokens=2, ignore_eos=True)[1]) == 2


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", required=True)
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryFile() as log:
        daemon = subprocess.Popen([args.binary, f"--model={args.model}", "--host=127.0.0.1",
                                   f"--port={port}", "--metrics_port=0"],
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            with AttnserveClient(f"127.0.0.1:{port}", timeout=120) as client:
                wait_serving(client, daemon, 120)
                check(client)
            daemon.terminate()
            code = daemon.wait(timeout=30)
            assert code == 0, f"attnserve exited with {code} after SIGTERM"
        except BaseException:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
            log.seek(0)
            sys.stderr.write("---- attnserve output ----\n" + log.read().decode(errors="replace"))
            raise
    print("python client end-to-end: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The OpenAI-compatible HTTP API end to end, with the official `openai` package (PyPI), curl and
raw sockets, against the real daemon (docs/api.md).

Run by ctest (tests/http/CMakeLists.txt):
    test_openai_api.py --binary build/bin/attnserve --model models/tiny-llama
One daemon (with --api_key and a chat template added to a copy of the model) serves most tests;
the capacity and drain tests start their own with small queues.
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
os.environ.setdefault("ATTNSERVE_STUB_CACHE", str(Path(tempfile.gettempdir()) / "attnserve-stubs"))

import openai  # noqa: E402
from attnserve_client import AttnserveClient  # noqa: E402

ARGS = None
API_KEY = "test-key-123"
# A small chat template in the style of real ones (bos, per-role headers, eos per turn).
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'system' %}System: {{ message['content'] | trim }}\n"
    "{% elif message['role'] == 'user' %}User: {{ message['content'] | trim }}\n"
    "{% else %}Assistant: {{ message['content'] | trim }}{{ eos_token }}\n{% endif %}"
    "{% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daemon:
    """attnserve on free ports; waits until HTTP /health answers 200."""

    def __init__(self, model_dir, *flags):
        self.grpc_port, self.http_port = free_port(), free_port()
        self.log = tempfile.TemporaryFile()  # closed by stop()
        self.proc = subprocess.Popen(
            [ARGS.binary, f"--model={model_dir}", f"--port={self.grpc_port}", "--metrics_port=0",
             f"--http_port={self.http_port}", "--host=127.0.0.1", *flags],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{self.http_port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"attnserve exited with {self.proc.returncode}: {self.output()}")
            try:
                if self.get("/health")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("attnserve HTTP /health not 200 in time")

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        conn.request(method, path, body=data, headers=headers or {})
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp.status, payload, resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, key=API_KEY, **kw):
        headers = {"Content-Type": "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return self.request("POST", path, body, headers=headers, **kw)

    def output(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def close(self):
        self.stop()
        self.log.close()


def chat_model_dir() -> str:
    """A copy of the test model whose tokenizer_config.json has CHAT_TEMPLATE."""
    out = Path(tempfile.mkdtemp(prefix="attnserve-chat-model-"))
    for f in Path(ARGS.model).iterdir():
        if f.is_file():
            shutil.copy(f, out / f.name)
    config = json.loads((out / "tokenizer_config.json").read_text())
    config["chat_template"] = CHAT_TEMPLATE
    (out / "tokenizer_config.json").write_text(json.dumps(config))
    return str(out)


class OpenAiApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model_dir = chat_model_dir()
        cls.daemon = Daemon(cls.model_dir, f"--api_key={API_KEY}", "--http_max_body_bytes=65536",
                            "--served_model_name=tiny-chat")
        cls.client = openai.OpenAI(base_url=cls.daemon.base + "/v1", api_key=API_KEY, max_retries=0,
                                   timeout=60)
        cls.grpc = AttnserveClient(f"127.0.0.1:{cls.daemon.grpc_port}", api_key=API_KEY, timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.grpc.close()
        code = cls.daemon.stop()
        shutil.rmtree(cls.model_dir, ignore_errors=True)
        output = cls.daemon.output()
        cls.daemon.close()
        assert code == 0, f"daemon exit {code}: {output}"

    # --- completions -----------------------------------------------------------------------
    def test_models(self):
        models = self.client.models.list()
        self.assertEqual([m.id for m in models.data], ["tiny-chat"])
        self.assertEqual(self.client.models.retrieve("tiny-chat").id, "tiny-chat")
        with self.assertRaises(openai.NotFoundError):
            self.client.models.retrieve("gpt-4")

    def test_completion_equals_grpc(self):
        r = self.client.completions.create(model="tiny-chat", prompt="Once upon a time", max_tokens=12,
                                           temperature=0, extra_body={"ignore_eos": True})
        self.assertEqual(r.object, "text_completion")
        self.assertEqual(r.choices[0].finish_reason, "length")
        self.assertEqual(r.usage.completion_tokens, 12)
        text, ids, last = self.grpc.generate_text("Once upon a time", max_tokens=12, temperature=0.0,
                                                  ignore_eos=True)
        self.assertEqual(r.choices[0].text, text)
        self.assertEqual(r.usage.prompt_tokens, last.usage.prompt_tokens)
        self.assertEqual(r.usage.total_tokens, r.usage.prompt_tokens + 12)

    def test_token_id_prompts_and_lists(self):
        ids = self.grpc.tokenize("Once upon a time")
        by_text = self.client.completions.create(model="tiny-chat", prompt="Once upon a time",
                                                 max_tokens=6, temperature=0)
        by_ids = self.client.completions.create(model="tiny-chat", prompt=ids, max_tokens=6,
                                                temperature=0)
        self.assertEqual(by_text.choices[0].text, by_ids.choices[0].text)
        both = self.client.completions.create(model="tiny-chat", prompt=["Once upon a time", "Hello"],
                                              max_tokens=6, temperature=0)
        self.assertEqual([c.index for c in both.choices], [0, 1])
        self.assertEqual(both.choices[0].text, by_text.choices[0].text)
        echoed = self.client.completions.create(model="tiny-chat", prompt="Once upon a time",
                                                max_tokens=6, temperature=0, echo=True)
        self.assertEqual(echoed.choices[0].text, "Once upon a time" + by_text.choices[0].text)

    def test_streaming_completion(self):
        kwargs = dict(model="tiny-chat", prompt="The quick brown fox", max_tokens=20, temperature=0,
                      extra_body={"ignore_eos": True})
        whole = self.client.completions.create(**kwargs)
        chunks = list(self.client.completions.create(stream=True, stream_options={"include_usage": True},
                                                     **kwargs))
        text = "".join(c.choices[0].text for c in chunks if c.choices)
        self.assertEqual(text, whole.choices[0].text)
        finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
        self.assertEqual(len(finals), 1)
        self.assertEqual(finals[0].choices[0].finish_reason, "length")
        self.assertEqual(chunks[-1].choices, [])
        self.assertEqual(chunks[-1].usage.completion_tokens, 20)
        self.assertTrue(all(c.usage is None for c in chunks[:-1]))

    def test_n_and_seeds(self):
        kwargs = dict(model="tiny-chat", prompt="Hello", max_tokens=16, temperature=1.0, seed=5, n=3,
                      extra_body={"ignore_eos": True})
        a = self.client.completions.create(**kwargs)
        b = self.client.completions.create(**kwargs)
        self.assertEqual([c.index for c in a.choices], [0, 1, 2])
        self.assertEqual([c.text for c in a.choices], [c.text for c in b.choices])  # reproducible
        self.assertGreater(len({c.text for c in a.choices}), 1)  # the choices differ
        self.assertEqual(a.usage.completion_tokens, 48)
        other = self.client.completions.create(**{**kwargs, "seed": 6, "n": 1})
        self.assertNotEqual(other.choices[0].text, a.choices[0].text)
        streamed = list(self.client.completions.create(stream=True, **kwargs))
        for i in range(3):
            self.assertEqual("".join(c.choices[0].text for c in streamed if c.choices[0].index == i),
                             a.choices[i].text)

    def test_completion_logprobs(self):
        r = self.client.completions.create(model="tiny-chat", prompt="Hello there", max_tokens=5,
                                           temperature=0, logprobs=3, extra_body={"ignore_eos": True})
        lp = r.choices[0].logprobs
        self.assertEqual(len(lp.tokens), 5)
        self.assertEqual(len(lp.token_logprobs), 5)
        self.assertTrue(all(x <= 1e-6 for x in lp.token_logprobs))
        # Keyed by token text: alternatives that decode alike (partial UTF-8) share a key.
        self.assertTrue(all(1 <= len(t) <= 3 for t in lp.top_logprobs))
        self.assertTrue(any(len(t) == 3 for t in lp.top_logprobs))
        # Greedy: the chosen token is the best alternative.
        for tok, lpv, top in zip(lp.tokens, lp.token_logprobs, lp.top_logprobs):
            self.assertAlmostEqual(max(top.values()), lpv, places=4)
        self.assertEqual(lp.text_offset[0], 0)
        self.assertEqual("".join(lp.tokens), r.choices[0].text)

    def test_stop_strings(self):
        base = self.client.completions.create(model="tiny-chat", prompt="Once upon a time",
                                              max_tokens=24, temperature=0,
                                              extra_body={"ignore_eos": True}).choices[0].text
        stop = base[8:11]
        self.assertGreater(len(stop.strip()), 0, base)
        r = self.client.completions.create(model="tiny-chat", prompt="Once upon a time", max_tokens=24,
                                           temperature=0, stop=[stop, "@@never@@"],
                                           extra_body={"ignore_eos": True})
        self.assertEqual(r.choices[0].finish_reason, "stop")
        self.assertEqual(r.choices[0].text, base[:base.index(stop)])
        self.assertEqual(r.choices[0].model_extra["stop_reason"], stop)

    def test_logit_bias(self):
        ids = self.grpc.tokenize(" the", add_special_tokens=False)
        r = self.client.completions.create(model="tiny-chat", prompt="Hello", max_tokens=4, temperature=0,
                                           logit_bias={str(ids[0]): 100}, extra_body={"ignore_eos": True})
        self.assertEqual(r.choices[0].text, self.grpc.detokenize(ids * 4))

    # --- chat --------------------------------------------------------------------------------
    def test_chat_is_the_rendered_prompt(self):
        messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi there"}]
        rendered = "<|begin_of_text|>System: Be brief.\nUser: Hi there\nAssistant:"
        status, body, _ = self.daemon.post("/tokenize", {"messages": messages})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["tokens"], self.grpc.tokenize(rendered, add_special_tokens=False))
        chat = self.client.chat.completions.create(model="tiny-chat", messages=messages, max_tokens=10,
                                                   temperature=0)
        plain = self.client.completions.create(
            model="tiny-chat", prompt=rendered, max_tokens=10, temperature=0,
            extra_body={"add_special_tokens": False,
                        "stop_token_ids": [self.grpc.tokenize("<|end_of_text|>", False)[0]]})
        self.assertEqual(chat.object, "chat.completion")
        self.assertEqual(chat.choices[0].message.role, "assistant")
        self.assertEqual(chat.choices[0].message.content, plain.choices[0].text)
        self.assertEqual(chat.usage.prompt_tokens, plain.usage.prompt_tokens)
        # gRPC takes the same messages.
        text, _, _ = self.grpc.chat(messages, max_tokens=10, temperature=0.0)
        self.assertEqual(text, chat.choices[0].message.content)

    def test_chat_stream_and_logprobs(self):
        messages = [{"role": "user", "content": "Tell me a story"},
                    {"role": "assistant", "content": "Once"}, {"role": "user", "content": "More"}]
        kwargs = dict(model="tiny-chat", messages=messages, max_tokens=15, temperature=0,
                      logprobs=True, top_logprobs=2)
        whole = self.client.chat.completions.create(**kwargs)
        chunks = list(self.client.chat.completions.create(stream=True, **kwargs))
        self.assertEqual(chunks[0].object, "chat.completion.chunk")
        self.assertEqual(chunks[0].choices[0].delta.role, "assistant")
        self.assertEqual("".join(c.choices[0].delta.content or "" for c in chunks),
                         whole.choices[0].message.content)
        content = whole.choices[0].logprobs.content
        self.assertEqual(len(content), whole.usage.completion_tokens)
        self.assertTrue(all(len(t.top_logprobs) == 2 for t in content))
        streamed_lp = [t for c in chunks if c.choices[0].logprobs for t in c.choices[0].logprobs.content]
        self.assertEqual([t.token for t in streamed_lp], [t.token for t in content])

    def test_chat_content_parts_and_tools(self):
        r = self.client.chat.completions.create(
            model="tiny-chat", max_tokens=3, temperature=0,
            messages=[{"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])
        self.assertEqual(r.choices[0].finish_reason in ("stop", "length"), True)
        with self.assertRaises(openai.BadRequestError) as e:
            self.client.chat.completions.create(
                model="tiny-chat", max_tokens=3,
                messages=[{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}])
        self.assertIn("messages[0].content[0]", str(e.exception))

    # --- errors ------------------------------------------------------------------------------
    def assertError(self, status, body, code, param=None, fragment=None):
        self.assertEqual(status, code, body)
        error = json.loads(body)["error"]
        self.assertEqual(set(error), {"message", "type", "param", "code"})
        if param is not None:
            self.assertEqual(error["param"], param, error)
        if fragment:
            self.assertIn(fragment, error["message"])

    def test_errors(self):
        p = self.daemon.post
        self.assertError(*p("/v1/completions", {"prompt": "x", "temperature": -1})[:2], 400, "temperature")
        self.assertError(*p("/v1/completions", {"prompt": "x", "top_p": 0})[:2], 400, "top_p")
        self.assertError(*p("/v1/completions", {"prompt": "x", "max_tokens": 5000})[:2], 400, None,
                         "maximum context length")
        self.assertError(*p("/v1/completions", {"prompt": [5000]})[:2], 400, "prompt")
        self.assertError(*p("/v1/completions", {"prompt": "x", "suffix": "y"})[:2], 400, "suffix")
        self.assertError(*p("/v1/completions", {"prompt": "x", "n": 0})[:2], 400, "n")
        self.assertError(*p("/v1/completions", {"prompt": "x", "logit_bias": {"1": 500}})[:2], 400,
                         "logit_bias")
        self.assertError(*p("/v1/completions", {"prompt": "x", "attention": {"backend": "nope"}})[:2], 400,
                         None, "nope")
        self.assertError(*p("/v1/completions", {"prompt": "x", "context_policy": {"kind": "yarn",
                                                                                   "factor": -2}})[:2],
                         400, None, "factor")
        self.assertError(*p("/v1/chat/completions", {"messages": [{"role": "user", "content": "x"}],
                                                     "response_format": {"type": "json_schema"}})[:2],
                         400, "response_format")
        self.assertError(*p("/v1/chat/completions", {"messages": []})[:2], 400, "messages")
        self.assertError(*p("/v1/chat/completions", {"messages": [{"role": "robot", "content": "x"}]})[:2],
                         400, "messages")
        self.assertError(*p("/v1/completions", {"prompt": "x", "model": "gpt-4"})[:2], 404, "model")
        self.assertError(*p("/v1/completions", b"{not json")[:2], 400, None, "not valid JSON")
        self.assertError(*p("/v1/completions", {"prompt": "x"}, key="wrong")[:2], 401)
        self.assertError(*p("/v1/completions", {"prompt": "x"}, key=None)[:2], 401)
        self.assertError(*p("/v1/nothing", {})[:2], 404, None, "no route")
        self.assertError(*self.daemon.get("/v1/completions")[:2], 405)
        self.assertError(*p("/v1/completions", {"prompt": "x" * 70000})[:2], 413)
        with self.assertRaises(openai.AuthenticationError):
            openai.OpenAI(base_url=self.daemon.base + "/v1", api_key="bad", max_retries=0).models.list()
        with self.assertRaises(openai.BadRequestError) as e:
            self.client.completions.create(model="tiny-chat", prompt="x", temperature=-1)
        self.assertEqual(e.exception.status_code, 400)
        # Still serving after every bad request.
        self.assertEqual(self.client.completions.create(model="tiny-chat", prompt="x", max_tokens=2)
                         .usage.completion_tokens > 0, True)

    def test_grpc_needs_the_key(self):
        import grpc
        with AttnserveClient(f"127.0.0.1:{self.daemon.grpc_port}", timeout=10) as anonymous:
            with self.assertRaises(grpc.RpcError) as e:
                anonymous.tokenize("x")
            self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
            self.assertEqual(anonymous.health("attnserve.v1.Inference"), "SERVING")  # health stays open

    # --- protocol ----------------------------------------------------------------------------
    def test_sse_framing_with_curl(self):
        out = subprocess.run(
            ["curl", "-sN", "-D", "-", "-H", f"Authorization: Bearer {API_KEY}",
             "-H", "Content-Type: application/json", self.daemon.base + "/v1/chat/completions",
             "-d", json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 6,
                               "stream": True, "temperature": 0})],
            capture_output=True, timeout=60, check=True).stdout.decode()  # keeps \r\n
        head, _, body = out.partition("\r\n\r\n")
        self.assertIn("200", head.splitlines()[0])
        self.assertIn("content-type: text/event-stream", head.lower())
        self.assertIn("transfer-encoding: chunked", head.lower())
        events = body.split("\n\n")
        self.assertEqual(events[-1], "")
        self.assertEqual(events[-2], "data: [DONE]")
        for event in events[:-2]:
            self.assertTrue(event.startswith("data: "), event)
            self.assertEqual(json.loads(event[6:])["object"], "chat.completion.chunk")

    def test_disconnect_frees_kv_blocks(self):
        total = self.grpc.server_status().kv_blocks_total
        sock = socket.create_connection(("127.0.0.1", self.daemon.http_port), timeout=30)
        body = json.dumps({"prompt": "Once upon a time", "max_tokens": 1900, "stream": True,
                           "ignore_eos": True}).encode()
        sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     + f"Authorization: Bearer {API_KEY}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                     + body)
        received = b""
        while received.count(b"data: ") < 3:
            received += sock.recv(4096)
        status = self.grpc.server_status()
        self.assertEqual(status.num_requests_running, 1)
        self.assertLess(status.kv_blocks_free, total)
        sock.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = self.grpc.server_status()
            if status.num_requests_running == 0 and status.kv_blocks_free == total:
                break
            time.sleep(0.05)
        self.assertEqual(status.num_requests_running, 0)
        self.assertEqual(status.kv_blocks_free, total)

    def test_idle_connections_take_no_threads(self):
        def threads():
            with open(f"/proc/{self.daemon.proc.pid}/status") as f:
                return int(next(line.split()[1] for line in f if line.startswith("Threads:")))
        before = threads()
        idle = [socket.create_connection(("127.0.0.1", self.daemon.http_port)) for _ in range(256)]
        try:
            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                results = list(pool.map(
                    lambda i: self.client.completions.create(model="tiny-chat", prompt=f"Hi {i}",
                                                             max_tokens=8, stream=True), range(16)))
                texts = [[c for c in stream] for stream in results]
            self.assertTrue(all(t[-1].choices[0].finish_reason for t in texts))
            # A thread per connection would add 272; gRPC's executor may grow or shrink by a few
            # threads of its own meanwhile, which is not what this measures.
            self.assertLess(abs(threads() - before), 8)
        finally:
            for s in idle:
                s.close()

    def test_health_metrics_tokenize(self):
        status, body, _ = self.daemon.get("/health")
        self.assertEqual((status, json.loads(body)), (200, {"status": "serving"}))
        status, body, _ = self.daemon.post("/tokenize", {"prompt": "Hello world"})
        tokens = json.loads(body)["tokens"]
        self.assertEqual(tokens, self.grpc.tokenize("Hello world"))
        status, body, _ = self.daemon.post("/detokenize", {"tokens": tokens})
        self.assertEqual(json.loads(body)["prompt"], "Hello world")
        self.client.completions.create(model="tiny-chat", prompt="x", max_tokens=2)
        self.grpc.tokenize("x")
        status, body, _ = self.daemon.get("/metrics")
        text = body.decode()
        self.assertEqual(status, 200)
        self.assertIn('attnserve_api_requests_total{code="OK",method="/v1/completions",protocol="http"}', text)
        self.assertIn('attnserve_api_requests_total{code="OK",method="Tokenize",protocol="grpc"}', text)
        self.assertIn("attnserve_time_to_first_token_seconds", text)


class CapacityAndDrainTest(unittest.TestCase):
    def test_429_then_503_while_draining(self):
        d = Daemon(ARGS.model, "--max_num_seqs=1", "--max_waiting_requests=1", "--drain_timeout=30")
        try:
            def long_stream():
                conn = http.client.HTTPConnection("127.0.0.1", d.http_port, timeout=60)
                conn.request("POST", "/v1/completions", json.dumps(
                    {"prompt": "a", "max_tokens": 1500, "ignore_eos": True, "stream": True}),
                    {"Content-Type": "application/json"})
                resp = conn.getresponse()
                self.assertEqual(resp.status, 200)
                resp.fp.readline()  # first event arrived: the request is admitted
                return conn
            running = long_stream()
            waiting_sock = socket.create_connection(("127.0.0.1", d.http_port))
            body = json.dumps({"prompt": "b", "max_tokens": 1500, "ignore_eos": True}).encode()
            waiting_sock.sendall(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                 + f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
            with AttnserveClient(f"127.0.0.1:{d.grpc_port}", timeout=10) as g:
                deadline = time.monotonic() + 20
                while g.server_status().num_requests_waiting < 1 and time.monotonic() < deadline:
                    time.sleep(0.02)
                status, body, _ = d.post("/v1/completions", {"prompt": "c", "max_tokens": 4}, key=None)
                self.assertEqual(status, 429, body)
                self.assertEqual(json.loads(body)["error"]["type"], "rate_limit_error")
                d.proc.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + 20
                while d.get("/health")[0] != 503 and time.monotonic() < deadline:
                    time.sleep(0.02)
                status, body, _ = d.get("/health")
                self.assertEqual((status, json.loads(body)["status"]), (503, "draining"))
                status, body, _ = d.post("/v1/completions", {"prompt": "c", "max_tokens": 4}, key=None)
                self.assertEqual(status, 503, body)
            running.close()  # disconnects cancel the running and the waiting request: the drain ends
            waiting_sock.close()
            self.assertEqual(d.proc.wait(30), 0, d.output())
        finally:
            d.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)

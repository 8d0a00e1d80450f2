#!/usr/bin/env python3
"""Plots bench/attention/run_model_scaling.sh's JSON lines (attnserve-bench-decode --json): the
~100M model's prefill time and per-token decode time against the context n, log-log, one line per
attention backend, with reference slopes n^2 and n; also prints the table as Markdown.

  python3 tools/plot_model_scaling.py docs/attention_model_scaling.jsonl --out docs/attention_model_scaling.png
"""
import argparse
import json
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--out", required=True, help="PNG path")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    by = defaultdict(dict)  # backend -> n -> row
    for r in rows:
        name = (r["attention"] or "full").split(":")[0]
        by[name][r["prompt_tokens"]] = r
    ns = sorted({r["prompt_tokens"] for r in rows})
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax, key, title, scale in ((axes[0], "prefill_s", "prefill of n tokens (s)", 1.0),
                                  (axes[1], "decode_ms_per_token", "decode at context n (ms/token)", 1.0)):
        for name, pts in by.items():
            xs = sorted(pts)
            ax.plot(xs, [pts[n][key] * scale for n in xs], marker="o", label=name)
        if "full" in by and ns:
            # Reference slopes through full attention's largest-n point: n^2 (prefill) or n (decode).
            n1 = ns[-1]
            t1 = by["full"][n1][key]
            power = 2 if key == "prefill_s" else 1
            ax.plot(ns, [t1 * (n / n1) ** power for n in ns], ":", color="gray")
            ax.annotate(f"n^{power}", (ns[0], t1 * (ns[0] / n1) ** power), color="gray")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("context n (tokens)")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("~100M Llama (12 layers, 12 heads / 4 KV heads, head_dim 64), 2 CPU cores")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    header = "| backend | " + " | ".join(f"n={n}" for n in ns) + " |"
    for key, label in (("prefill_s", "prefill s"), ("decode_ms_per_token", "decode ms/token")):
        print(f"\n{label}\n\n{header}\n|---|" + "---|" * len(ns))
        for name, pts in by.items():
            cells = [f"{pts[n][key]:.3g}" if n in pts else "" for n in ns]
            print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Plots the JSON of attnserve-bench-attention (bench/bench_attention.cc): prefill time and decode
time per token against the context n, log-log, one line per mask (plus chunked prefill and the
cblas_sgemm reference for full attention), with reference slopes n^2 and n.

  python3 tools/plot_attention_scaling.py docs/attention_scaling.json --out docs/attention_scaling.png
"""
import argparse
import json
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(rows, key):
    """{mask: ([n], [seconds])} for rows that have `key`."""
    out = defaultdict(lambda: ([], []))
    for r in sorted(rows, key=lambda r: r["n"]):
        if key in r:
            out[r["mask"]][0].append(r["n"])
            out[r["mask"]][1].append(r[key])
    return out


def slope_line(ax, ns, anchor_n, anchor_t, power, label):
    """Dotted reference line t = anchor_t * (n / anchor_n)^power over ns."""
    ax.plot(ns, [anchor_t * (n / anchor_n) ** power for n in ns], ":", color="gray", linewidth=1)
    ax.annotate(label, (ns[-1], anchor_t * (ns[-1] / anchor_n) ** power), color="gray", fontsize=8)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json_path")
    ap.add_argument("--out", required=True, help="PNG path")
    args = ap.parse_args()
    with open(args.json_path) as f:
        doc = json.load(f)
    rows = doc["rows"]
    machine = doc.get("machine", {})
    fig, (ax_pre, ax_dec) = plt.subplots(1, 2, figsize=(12, 5))
    colors = {}
    for mask, (ns, ts) in series(rows, "prefill_s").items():
        (line,) = ax_pre.plot(ns, ts, "o-", label=mask)
        colors[mask] = line.get_color()
    for mask, (ns, ts) in series(rows, "chunked_prefill_s").items():
        ax_pre.plot(ns, ts, "x--", color=colors.get(mask), alpha=0.6, linewidth=1,
                    label=f"{mask} (512-query chunks)" if mask == "full" else None)
    for mask, (ns, ts) in series(rows, "blas_prefill_s").items():
        ax_pre.plot(ns, ts, "s-", color="black", label=f"{mask}: cblas_sgemm reference")
    for mask, (ns, ts) in series(rows, "decode_s").items():
        ax_dec.plot(ns, [t * 1e3 for t in ts], "o-", color=colors.get(mask), label=mask)

    all_n = sorted({r["n"] for r in rows})
    full_pre = series(rows, "prefill_s").get("full")
    if full_pre:
        slope_line(ax_pre, all_n, full_pre[0][0], full_pre[1][0], 2, "n²")
        window = series(rows, "prefill_s").get("sliding_window")
        if window:
            slope_line(ax_pre, all_n, window[0][0], window[1][0], 1, "n")
    full_dec = series(rows, "decode_s").get("full")
    if full_dec:
        slope_line(ax_dec, all_n, full_dec[0][0], full_dec[1][0] * 1e3, 1, "n")

    threads = machine.get("threads", "?")
    ax_pre.set_title(f"prefill: n queries against n keys ({threads} threads)")
    ax_pre.set_ylabel("seconds")
    ax_dec.set_title("decode: 1 query against n keys (K/V from DRAM)")
    ax_dec.set_ylabel("milliseconds per token")
    for ax in (ax_pre, ax_dec):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("context n (tokens)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("One attention layer of the ~100M model (12 heads, 4 KV heads, head_dim 64), CPU backend")
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

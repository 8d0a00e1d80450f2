#!/usr/bin/env python3
"""Plots bench/ssm/run_ssm_scaling.sh's JSON lines (attnserve-bench-decode --json): decode ms/token and
memory per sequence (MB) against the context n for the Mamba and the Llama of the same size (batch-1
rows; log2 x axis), and prints the Markdown tables used in docs/benchmarks.md, with the Llama/Mamba
ratios taken from the same run and the "bytes ratio" (what one decode step reads, Llama / Mamba: the ratio a
purely bandwidth-bound decode would show). A point measured twice keeps its last line.

  python3 tools/plot_ssm_scaling.py docs/ssm_scaling.jsonl --out docs/ssm_scaling.png
"""
import argparse
import json
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABEL = {"MambaForCausalLM": "Mamba", "LlamaForCausalLM": "Llama"}


def step_mb(r):
    """MB one decode step reads in the bench's model (weights + KV or recurrent state), recovered from the
    JSON: fraction = tokens/s / roofline and roofline = batch * bandwidth / bytes."""
    return r["bandwidth_gbs"] * 1e3 * r["decode_roofline_fraction"] * r["decode_ms_per_token"] * r["batch"] / 1e3


def fmt(x):
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("jsonl")
    ap.add_argument("--out", required=True, help="PNG path")
    args = ap.parse_args()
    rows = [json.loads(line) for line in open(args.jsonl) if line.strip()]
    by = defaultdict(dict)  # (arch, batch) -> n -> row
    params = {}
    for r in rows:
        name = LABEL.get(r["architecture"], r["architecture"])
        by[(name, r["batch"])][r["prompt_tokens"]] = r
        params[name] = r["parameters"]

    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for name, color in (("Llama", "tab:blue"), ("Mamba", "tab:orange")):
        pts = by.get((name, 1), {})
        if not pts:
            continue
        xs = sorted(pts)
        label = f"{name} ({params[name] / 1e6:.1f}M)"
        axes[0].plot(xs, [pts[n]["decode_ms_per_token"] for n in xs], marker="o", color=color, label=label)
        axes[1].plot(xs, [pts[n]["memory_per_sequence_bytes"] / 1e6 for n in xs], marker="o", color=color,
                     label=label)
    axes[0].set_title("decode at context n, batch 1 (ms/token)")
    axes[0].set_ylim(bottom=0)
    axes[1].set_title("memory per sequence (MB, f32: KV cache / recurrent state)")
    axes[1].set_yscale("log")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_xlabel("context n (tokens)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle("Mamba (14 layers, hidden 768, state 16) vs Llama (12 layers, hidden 768, GQA 12/4), "
                 "~100M params, f32, 2 CPU cores")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")

    lb, mb = by.get(("Llama", 1), {}), by.get(("Mamba", 1), {})
    print("\n| context | Llama ms/token | Mamba ms/token | Llama / Mamba | bytes ratio | Llama MB/seq | Mamba MB/seq "
          "| Llama prefill s | Mamba prefill s | decode GB/s achieved Llama / Mamba | bandwidth GB/s measured Llama / Mamba "
          "| roofline fraction Llama / Mamba |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in sorted(set(lb) | set(mb)):
        l, m = lb.get(n), mb.get(n)
        cell = lambda r, k, s=1.0: fmt(r[k] * s) if r else "—"  # noqa: E731
        ratio = f"**{l['decode_ms_per_token'] / m['decode_ms_per_token']:.2f}**" if l and m else "—"
        frac = f"{l['decode_roofline_fraction']:.2f} / {m['decode_roofline_fraction']:.2f}" if l and m else "—"
        bw = f"{l['bandwidth_gbs']:.1f} / {m['bandwidth_gbs']:.1f}" if l and m else "—"
        bytes_ratio = f"{step_mb(l) / step_mb(m):.2f}" if l and m else "—"
        gbs = lambda r: step_mb(r) / r["decode_ms_per_token"]  # noqa: E731  (batch 1: MB/ms = GB/s)
        achieved = f"{gbs(l):.1f} / {gbs(m):.1f}" if l and m else "—"
        print(f"| {n} | {cell(l, 'decode_ms_per_token')} | {cell(m, 'decode_ms_per_token')} | {ratio} | {bytes_ratio} "
              f"| {cell(l, 'memory_per_sequence_bytes', 1e-6)} | {cell(m, 'memory_per_sequence_bytes', 1e-6)} "
              f"| {cell(l, 'prefill_s')} | {cell(m, 'prefill_s')} | {achieved} | {bw} | {frac} |")
    batches = sorted({b for (_, b) in by if b != 1})
    for b in batches:
        lb, mb = by.get(("Llama", b), {}), by.get(("Mamba", b), {})
        print(f"\nbatch {b}\n\n| context | Llama ms/step | Mamba ms/step | Llama tokens/s | Mamba tokens/s "
              "| Mamba / Llama tokens/s | bytes ratio | Llama MB for the batch | Mamba MB for the batch "
              "| roofline fraction Llama / Mamba | bandwidth GB/s Llama / Mamba |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for n in sorted(set(lb) | set(mb)):
            l, m = lb.get(n), mb.get(n)
            if not (l and m):
                continue
            # decode_ms_per_token is per generated token (step time / batch).
            lt, mt = 1e3 / l["decode_ms_per_token"], 1e3 / m["decode_ms_per_token"]
            print(f"| {n} | {fmt(l['decode_ms_per_token'] * b)} | {fmt(m['decode_ms_per_token'] * b)} "
                  f"| {lt:.1f} | {mt:.1f} | **{mt / lt:.2f}** | {step_mb(l) / step_mb(m):.2f} "
                  f"| {fmt(l['memory_per_sequence_bytes'] * b / 1e6)} | {fmt(m['memory_per_sequence_bytes'] * b / 1e6)} "
                  f"| {l['decode_roofline_fraction']:.2f} / {m['decode_roofline_fraction']:.2f} "
                  f"| {l['bandwidth_gbs']:.1f} / {m['bandwidth_gbs']:.1f} |")


if __name__ == "__main__":
    main()

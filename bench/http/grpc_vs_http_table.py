#!/usr/bin/env python3
"""Markdown table from bench/http/run_grpc_vs_http.sh's JSONs: per concurrency and front door,
the median over rounds of output throughput, TTFT p50, ITL p50/p99, and HTTP / gRPC ratios.
    python3 bench/http/grpc_vs_http_table.py OUT_DIR"""
import json
import re
import statistics
import sys
from pathlib import Path

runs = {}
for f in Path(sys.argv[1]).glob("*.json"):
    m = re.fullmatch(r"(grpc|openai)-c(\d+)-r\d+\.json", f.name)
    if m:
        runs.setdefault((int(m[2]), m[1]), []).append(json.loads(f.read_text()))


def med(rows, get):
    return statistics.median(get(r) for r in rows)


metrics = [("tok/s", lambda r: r["output_throughput"]), ("TTFT p50 ms", lambda r: r["ttft_ms"]["p50"]),
           ("ITL p50 ms", lambda r: r["itl_ms"]["p50"]), ("ITL p99 ms", lambda r: r["itl_ms"]["p99"])]
print("| streams | front door | rounds | failed | " + " | ".join(n for n, _ in metrics) + " |")
print("|---|---|---|---|" + "---|" * len(metrics))
for c in sorted({c for c, _ in runs}):
    values = {}
    for backend in ("grpc", "openai"):
        rows = runs.get((c, backend), [])
        if not rows:
            continue
        values[backend] = [med(rows, get) for _, get in metrics]
        failed = sum(r["num_requests_failed"] for r in rows)
        print(f"| {c} | {'gRPC' if backend == 'grpc' else 'HTTP (SSE)'} | {len(rows)} | {failed} | "
              + " | ".join(f"{v:.2f}" for v in values[backend]) + " |")
    if len(values) == 2:
        print(f"| {c} | HTTP / gRPC | | | "
              + " | ".join(f"{h / g:.2f}" for h, g in zip(values["openai"], values["grpc"])) + " |")

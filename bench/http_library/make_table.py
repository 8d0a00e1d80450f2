#!/usr/bin/env python3
"""Renders run_bench.sh's JSON lines (stdin) as the markdown table in docs/http_library_choice.md."""
import json
import sys

def ms(row, key):
    v = row[key]
    return "—" if v < 0 else (f"{v:.0f}" if v >= 100 else f"{v:.2f}")

print("| server | C | idle | streams done | keep-alive ok | idle answered & still open | lateness p50 / p99 ms"
      " | gap p50 / p99 ms | TTFE p50 / p99 ms | threads | RSS MB | CPU s | listen overflows | wall s |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for line in sys.stdin:
    r = json.loads(line)
    idle_open = f"{r['idle_open_at_end']}/{r['idle']}" if r["idle"] else "—"
    print(f"| {r['label']} | {r['concurrency']} | {r['idle']} | {r['completed']}/{r['concurrency']}"
          f" | {r['keepalive_ok']} | {idle_open}"
          f" | {ms(r, 'lateness_p50_ms')} / {ms(r, 'lateness_p99_ms')}"
          f" | {ms(r, 'gap_p50_ms')} / {ms(r, 'gap_p99_ms')}"
          f" | {ms(r, 'ttfe_p50_ms')} / {ms(r, 'ttfe_p99_ms')}"
          f" | {r['server_threads_max']} | {r['server_rss_max_mb']:.1f} | {r['server_cpu_s']:.2f}"
          f" | {r['listen_overflows']} | {r['wall_s']:.1f} |")

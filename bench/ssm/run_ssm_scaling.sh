#!/usr/bin/env bash
# Mamba vs Llama of the same size (~100M parameters, f32): prefill time, per-token decode time and
# memory per sequence at contexts n = 1k .. 32k, batch 1; plus batch-8 continuous-batching decode at
# n = 1k and 4k. One JSON line per (model, n, batch) from attnserve-bench-decode.
#   Mamba: tools/make_random_mamba.py defaults (hidden 768, 14 layers, state 16, expand 2, untied; 102.0M)
#   Llama: tools/make_random_llama.py --max_positions 32768 (hidden 768, 12 layers, GQA 12/4; 103.4M)
# The two models read about the same weights per decode step (77.4M vs 78.8M floats).
#   OMP_PROC_BIND=spread OMP_PLACES=cores BUILD_DIR=build MAX_N=32768 bench/ssm/run_ssm_scaling.sh [out.jsonl]
# Env: MAX_N (largest context, both models), LLAMA_MAX_N (largest context for the Llama, whose prefill
# is O(n^2): ~140 s at 32k on 2 cores), DECODE_TOKENS (32: cheap next to the prefill, and averages out
# more scheduler noise than 8), BATCH_NS ("1024 4096"), BATCH (8), QUIET_WAIT_S (600).
# POINTS="32768:1 4096:8" runs only those (n:batch) pairs, both models, appending to the output
# (for re-measuring points a neighbour disturbed; the plot script keeps the last line per point).
# On a shared machine each run first waits (up to QUIET_WAIT_S) until the other processes use under
# 25% of the CPUs for 3 s; the log says when it gave up waiting.
# Plot: python3 tools/plot_ssm_scaling.py docs/ssm_scaling.jsonl --out docs/ssm_scaling.png
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
MAMBA=${MAMBA:-/tmp/attnserve-mamba100m}
LLAMA=${LLAMA:-/tmp/attnserve-llama100m-32k}
MAX_N=${MAX_N:-32768}
LLAMA_MAX_N=${LLAMA_MAX_N:-$MAX_N}
DECODE_TOKENS=${DECODE_TOKENS:-32}
QUIET_WAIT_S=${QUIET_WAIT_S:-600}
BATCH=${BATCH:-8}
BATCH_NS=${BATCH_NS:-"1024 4096"}
OUT=${1:-docs/ssm_scaling.jsonl}
BENCH="$BUILD_DIR/bin/attnserve-bench-decode"
[ -x "$BENCH" ] || { echo "missing $BENCH (cmake --build $BUILD_DIR --target attnserve-bench-decode)" >&2; exit 1; }
if [ ! -f "$MAMBA/model.safetensors" ]; then
  python3 tools/make_random_mamba.py --out "$MAMBA"
fi
if [ ! -f "$LLAMA/model.safetensors" ]; then
  python3 tools/make_random_llama.py --out "$LLAMA" --max_positions 32768
fi
[ -n "${POINTS:-}" ] || : > "$OUT"
busy_percent() {  # CPU busy over 3 s, all cores, from /proc/stat (no bench of ours is running then)
  local a b
  read -r -a a < <(head -1 /proc/stat); sleep 3; read -r -a b < <(head -1 /proc/stat)
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) )) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$(( total + b[i] - a[i] )); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
wait_quiet() {
  local waited=0 busy
  while busy=$(busy_percent); [ "$busy" -ge 25 ]; do
    if [ "$waited" -ge "$QUIET_WAIT_S" ]; then echo "   (still ${busy}% busy after ${waited} s; running anyway)" >&2; return; fi
    sleep 20; waited=$((waited + 23))
  done
  [ "$waited" -eq 0 ] || echo "   (waited ${waited} s for a quiet machine)" >&2
}
run() {  # model n batch
  wait_quiet
  echo "== $(basename "$1") n=$2 batch=$3 $(date +%T) (load: $(cut -d' ' -f1 /proc/loadavg))" >&2
  "$BENCH" --model="$1" --prompt_tokens="$2" --decode_tokens="$DECODE_TOKENS" --repeats=1 --batch="$3" \
    --json="$OUT" | grep -E "memory|bandwidth|prefill|decode" >&2
}
if [ -n "${POINTS:-}" ]; then
  for p in $POINTS; do
    n=${p%%:*} b=${p##*:}
    run "$MAMBA" "$n" "$b"
    [ "$n" -le "$LLAMA_MAX_N" ] && run "$LLAMA" "$n" "$b"
  done
  echo "appended to $OUT" >&2
  exit 0
fi
for n in 1024 2048 4096 8192 16384 32768; do
  [ "$n" -le "$MAX_N" ] || continue
  # Same n back to back, so each ratio comes from two runs a minute apart.
  run "$MAMBA" "$n" 1
  [ "$n" -le "$LLAMA_MAX_N" ] && run "$LLAMA" "$n" 1
done
for n in $BATCH_NS; do
  [ "$n" -le "$MAX_N" ] || continue
  run "$MAMBA" "$n" "$BATCH"
  [ "$n" -le "$LLAMA_MAX_N" ] && run "$LLAMA" "$n" "$BATCH"
done
echo "wrote $OUT" >&2

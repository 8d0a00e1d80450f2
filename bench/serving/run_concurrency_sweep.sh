#!/usr/bin/env bash
# Serving throughput vs concurrency (closed loop) for one model: starts the daemon, runs
# attnserve-bench at each concurrency and leaves one JSON per run in OUT_DIR.
#   [BUILD_DIR=build] bench/serving/run_concurrency_sweep.sh MODEL_DIR OUT_DIR [INPUT_LEN] [OUTPUT_LEN] [CONCURRENCIES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"; out="$2"; input_len="${3:-32}"; output_len="${4:-128}"; shift 4 || shift $#
concurrencies=("${@:-1 4 16 64}")
[ "$#" -eq 0 ] && concurrencies=(1 4 16 64)
bin="${BUILD_DIR:-build}/bin"
mkdir -p "$out"
port=$((50200 + RANDOM % 500))
"$bin"/attnserve --model "$model" --port "$port" --metrics_port 0 --max_num_seqs 64 \
  --max_num_batched_tokens 512 > "$out/daemon.log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for c in "${concurrencies[@]}"; do
  # Enough requests for several waves at every concurrency; at least 8.
  n=$(( c * 3 > 8 ? c * 3 : 8 ))
  "$bin"/attnserve-bench --addr "localhost:$port" --wait_ready_s 120 --concurrency "$c" \
    --num_requests "$n" --warmup 2 --input_len "$input_len" --output_len "$output_len" \
    --seed 1 --json "$out/c$c.json" | tail -n 25
done

#!/usr/bin/env bash
# gRPC Generate vs the OpenAI-compatible HTTP API (streaming /v1/completions, SSE) on ONE daemon:
# attnserve-bench sends the same workload (same prompts, seeds, lengths) through both front
# doors at each concurrency, interleaved grpc/openai for ROUNDS rounds so drift hits both, and
# leaves one JSON per run in OUT_DIR; bench/http/grpc_vs_http_table.py makes the table. Both ask
# for the sampled token's logprob (--logprobs), which the HTTP client needs to count tokens per
# SSE event, so the server does the same work for both.
#   [BUILD_DIR=build] [ROUNDS=3] bench/http/run_grpc_vs_http.sh MODEL_DIR OUT_DIR [INPUT_LEN] [OUTPUT_LEN] [CONCURRENCIES...]
set -euo pipefail
cd "$(dirname "$0")/../.."
model="$1"; out="$2"; input_len="${3:-64}"; output_len="${4:-128}"; shift 4 || shift $#
concurrencies=("$@")
[ "$#" -eq 0 ] && concurrencies=(1 16 64)
bin="${BUILD_DIR:-build}/bin"
rounds="${ROUNDS:-3}"
mkdir -p "$out"
port=$((50700 + RANDOM % 500)); http_port=$((port + 1000))
"$bin"/attnserve --model "$model" --port "$port" --http_port "$http_port" --metrics_port 0 \
  --host 127.0.0.1 --max_num_seqs 64 --max_num_batched_tokens 512 > "$out/daemon.log" 2>&1 &
daemon=$!
trap 'kill -TERM $daemon 2>/dev/null; wait $daemon 2>/dev/null || true' EXIT
for round in $(seq "$rounds"); do
  for c in "${concurrencies[@]}"; do
    n=$(( c * 3 > 16 ? c * 3 : 16 ))
    for backend in grpc openai; do
      "$bin"/attnserve-bench --addr "127.0.0.1:$port" --http_addr "127.0.0.1:$http_port" \
        --backend "$backend" --wait_ready_s 120 --concurrency "$c" --num_requests "$n" --warmup 2 \
        --input_len "$input_len" --output_len "$output_len" --seed 1 --logprobs \
        --json "$out/$backend-c$c-r$round.json" > /dev/null
      echo "round $round c=$c $backend done" >&2
    done
  done
done

#!/usr/bin/env bash
# Quality of each --weight_dtype: perplexity through Score (attnserve-cli eval) of models/demo-llama
# on its held-out KJV books (32 windows of 256 tokens), served with the weight matrices in f32,
# bf16, f16, q8_0 and q4_0. Two prefill chunk sizes: 512 tokens (a window in one chunk: q8_0 / q4_0
# weights exactly widened, f32 activations) and 4 tokens (every chunk below the fused-kernel
# threshold: q8_0 / q4_0 multiply activations quantized to int8 blocks, as decode does).
#   BUILD_DIR=build bench/weight_dtypes/run_perplexity.sh [out.jsonl]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
MODEL=${MODEL:-models/demo-llama}
OUT=${1:-bench/weight_dtypes/perplexity.jsonl}
PORT=${PORT:-50734}
source bench/start_daemon.sh
: > "$OUT"
for dtype in f32 bf16 f16 q8_0 q4_0; do
  for chunk in 512 4; do
    start_daemon --model="$MODEL" --weight_dtype="$dtype" --max_num_batched_tokens="$chunk"
    echo "== $dtype, prefill chunks of $chunk tokens"
    "$BUILD_DIR/bin/attnserve-cli" --addr="127.0.0.1:$PORT" eval --text_file="$MODEL/heldout.txt" \
      --lengths=256 --max_windows=32 --json="$OUT.tmp"
    sed "s/^{/{\"weight_dtype\": \"$dtype\", \"prefill_chunk\": $chunk, /" "$OUT.tmp" >> "$OUT"
    rm -f "$OUT.tmp"
    kill "$DAEMON"; wait "$DAEMON" 2>/dev/null || true
  done
done

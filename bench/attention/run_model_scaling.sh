#!/usr/bin/env bash
# Prefill time and per-token decode time of the ~100M random Llama (tools/make_random_llama.py,
# 12 layers, hidden 768, 12 heads / 4 KV heads, head_dim 64) served with every attention backend,
# at contexts n = 1k .. 32k: one JSON line per (backend, n) from attnserve-bench-decode.
#   BUILD_DIR=build-lead MAX_N=32768 bench/attention/run_model_scaling.sh [out.jsonl]
# Plot: python3 tools/plot_model_scaling.py docs/attention_model_scaling.jsonl docs/attention_model_scaling.png
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
MODEL=${MODEL:-/tmp/attnserve-llama100m-32k}
MAX_N=${MAX_N:-32768}
DECODE_TOKENS=${DECODE_TOKENS:-8}
OUT=${1:-docs/attention_model_scaling.jsonl}
if [ ! -f "$MODEL/model.safetensors" ]; then
  python3 tools/make_random_llama.py --out "$MODEL" --max_positions 32768
fi
: > "$OUT"
BACKENDS=(
  "full"
  "sliding_window:window=512"
  "sinks:sink_tokens=4,window=508"
  "transformer_xl:segment_length=256,memory_segments=2"
  "longformer:window=512,global_tokens=16"
  "bigbird:block_size=64,window_blocks=3,global_blocks=1,random_blocks=3"
  "quest:top_k_blocks=32,window=64"
  "performer:num_features=256"
  "elu_linear"
)
for n in 1024 2048 4096 8192 16384 32768; do
  [ "$n" -le "$MAX_N" ] || continue
  for a in "${BACKENDS[@]}"; do
    echo "== n=$n attention=$a" >&2
    "$BUILD_DIR/bin/attnserve-bench-decode" --model="$MODEL" --prompt_tokens="$n" \
      --decode_tokens="$DECODE_TOKENS" --repeats=1 --attention="$a" --json="$OUT" | grep -E "prefill|decode" >&2
  done
done
echo "wrote $OUT" >&2

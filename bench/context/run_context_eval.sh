#!/usr/bin/env bash
# Context-length extrapolation measured (issue 7): perplexity through Score (attnserve-cli eval)
# of models/demo-llama (trained with context 256) on its held-out KJV books at evaluation lengths
# 256 .. 8192, under every context policy per request. Scaled policies use factor 32 so their
# limit (factor x 256) reaches 8192; none / dynamic_ntk / sinks are capped by --max_model_len.
#   BUILD_DIR=build-lead bench/context/run_context_eval.sh [out.jsonl]
# Plot: python3 tools/plot_context_eval.py docs/context_eval.jsonl docs/context_eval.png
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
MODEL=${MODEL:-models/demo-llama}
OUT=${1:-docs/context_eval.jsonl}
PORT=${PORT:-50734}
WINDOWS=${WINDOWS:-4}
LENGTHS=${LENGTHS:-256,512,1024,2048,4096,8192}
source bench/start_daemon.sh
start_daemon --model="$MODEL" --max_model_len=8192 --kv_cache_bytes=$((1 << 30))
POLICIES="model_default;none"
POLICIES+=";linear:factor=32;ntk:factor=32;yarn:factor=32;llama3:factor=32"
POLICIES+=";dynamic_ntk:factor=2;dynamic_ntk:factor=32"
POLICIES+=";sinks:sink_tokens=4,window=252"
"$BUILD_DIR/bin/attnserve-cli" --addr="127.0.0.1:$PORT" --timeout_s=600 eval --text_file="$MODEL/heldout.txt" \
  --lengths="$LENGTHS" --max_windows="$WINDOWS" --context_policy="$POLICIES" --json="$OUT" || true
echo "wrote $OUT" >&2

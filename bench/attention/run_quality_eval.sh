#!/usr/bin/env bash
# Quality of each attention approximation on a full-attention model: perplexity through Score
# (attnserve-cli eval) of models/demo-llama (trained with full attention, context 256) on its
# held-out KJV books, at lengths 64/128/256, for full attention and every backend with a reach
# of about 32 tokens (1/8 of the context), plus wider settings for the trade-off.
#   BUILD_DIR=build-lead bench/attention/run_quality_eval.sh [out.jsonl]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
MODEL=${MODEL:-models/demo-llama}
OUT=${1:-docs/attention_quality.jsonl}
PORT=${PORT:-50733}
source bench/start_daemon.sh
start_daemon --model="$MODEL"
CHOICES="full"
CHOICES+=";sliding_window:window=32;sinks:sink_tokens=4,window=28"
CHOICES+=";transformer_xl:segment_length=16,memory_segments=1"
CHOICES+=";longformer:window=32,global_tokens=4"
CHOICES+=";bigbird:block_size=8,window_blocks=3,global_blocks=1,random_blocks=1"
CHOICES+=";quest:top_k_blocks=2,window=16"
CHOICES+=";performer:num_features=256;elu_linear"
CHOICES+=";sliding_window:window=32,full_every=2"
CHOICES+=";sliding_window:window=128;quest:top_k_blocks=4,window=32;performer:num_features=1024"
"$BUILD_DIR/bin/attnserve-cli" --addr="127.0.0.1:$PORT" eval --text_file="$MODEL/heldout.txt" \
  --lengths=64,128,256 --max_windows=32 --attention="$CHOICES" --json="$OUT"

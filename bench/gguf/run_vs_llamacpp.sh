#!/usr/bin/env bash
# attnserve vs llama.cpp on the very same GGUF files, threads and machine, in one run,
# interleaved (per round and file: attnserve-bench-decode, then llama-bench), so machine noise
# hits both: single-stream decode (tg128 after a 32-token prompt) and prefill (pp512).
# llama.cpp is not part of the project: build llama-bench yourself (e.g. from the
# llama-cpp-python sdist's vendor/llama.cpp, under /tmp); the files are SmolLM2-135M-Instruct
# Q4_1 (scripts/fetch_default_model.sh) and its Q8_0 / Q4_0 requantizations by llama-quantize:
#   LLAMA_BIN=/tmp/llamacpp/build/bin ROUNDS=2 bench/gguf/run_vs_llamacpp.sh out.jsonl a.gguf b.gguf ...
# Each output line: {"engine", "file", "test", "tokens_per_s", "round"}.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
OUT=${1:?output .jsonl}
shift
: "${LLAMA_BIN:?}"
: > "$OUT"
emit() { echo "{\"engine\": \"$1\", \"file\": \"$2\", \"test\": \"$3\", \"tokens_per_s\": $4, \"round\": $5}" >> "$OUT"; }
ours() {  # ours FILE PROMPT DECODE -> prints "prefill_tok_s decode_tok_s"
  local json; json=$(mktemp)
  "$BUILD_DIR/bin/attnserve-bench-decode" --model="$1" --num_threads="$THREADS" \
    --prompt_tokens="$2" --decode_tokens="$3" --repeats=2 --json="$json" > /dev/null
  python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).read()); print(r['prefill_tokens_per_s'], r['decode_tokens_per_s'])" "$json"
  rm -f "$json"
}
for round in $(seq "$ROUNDS"); do
  for gguf in "$@"; do
    name=$(basename "$gguf" .gguf)
    read -r _ tg < <(ours "$gguf" 32 128)
    read -r pp _ < <(ours "$gguf" 512 8)
    emit attnserve "$name" tg128 "$tg" "$round"
    emit attnserve "$name" pp512 "$pp" "$round"
    "$LLAMA_BIN/llama-bench" -m "$gguf" -t "$THREADS" -p 512 -n 128 -r 2 -o jsonl 2>/dev/null |
      python3 -c "
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print('pp512' if r['n_prompt'] else 'tg128', r['avg_ts'])" |
      while read -r test ts; do emit llama.cpp "$name" "$test" "$ts" "$round"; done
    echo "round $round $name done" >&2
  done
done

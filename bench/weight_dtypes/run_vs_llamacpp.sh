#!/usr/bin/env bash
# attnserve vs llama.cpp on the same model, dtype, threads and machine, in one run, interleaved
# (rounds of: attnserve-bench-decode then llama-bench for each dtype), so machine noise hits both:
#   single-stream decode (tg128 after a 32-token prompt) and prefill (pp512) per weight dtype;
#   batched decode aggregate tok/s at 1, 4, 16, 64 streams (llama-batched-bench, npp 32, ntg 32).
# llama.cpp is not part of the project: build llama-bench / llama-batched-bench yourself (e.g. from
# the llama-cpp-python sdist's vendor/llama.cpp, under /tmp) and convert the same HF directory to
# GGUF F32 / BF16 / Q8_0 (convert_hf_to_gguf.py) and Q4_0 (llama-quantize), then:
#   LLAMA_BIN=/tmp/llamacpp/build/bin HF_DIR=/tmp/models/smollm2-hf-f32 \
#   GGUF_PREFIX=/tmp/models/smollm2/SmolLM2-135M-Instruct bench/weight_dtypes/run_vs_llamacpp.sh out.jsonl
# Each output line is one measurement: {"engine", "dtype", "test", "streams", "tokens_per_s", "round"}.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD_DIR=${BUILD_DIR:-build}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
OUT=${1:-bench/weight_dtypes/vs_llamacpp.jsonl}
: "${LLAMA_BIN:?}" "${HF_DIR:?}" "${GGUF_PREFIX:?}"
declare -A GGUF_NAME=([f32]=F32 [bf16]=BF16 [q8_0]=Q8_0 [q4_0]=Q4_0)
: > "$OUT"
emit() { echo "{\"engine\": \"$1\", \"dtype\": \"$2\", \"test\": \"$3\", \"streams\": $4, \"tokens_per_s\": $5, \"round\": $6}" >> "$OUT"; }
ours() {  # ours DTYPE PROMPT DECODE BATCH -> prints "prefill_tok_s decode_tok_s"
  local json; json=$(mktemp)
  "$BUILD_DIR/bin/attnserve-bench-decode" --model="$HF_DIR" --weight_dtype="$1" --num_threads="$THREADS" \
    --prompt_tokens="$2" --decode_tokens="$3" --batch="$4" --repeats=2 --json="$json" > /dev/null
  python3 -c "import json,sys; r=json.loads(open(sys.argv[1]).read()); print(r['prefill_tokens_per_s'], r['decode_tokens_per_s'])" "$json"
  rm -f "$json"
}
for round in $(seq "$ROUNDS"); do
  for dtype in f32 bf16 q8_0 q4_0; do
    gguf="$GGUF_PREFIX.${GGUF_NAME[$dtype]}.gguf"
    read -r _ tg < <(ours "$dtype" 32 128 1)
    read -r pp _ < <(ours "$dtype" 512 8 1)
    emit attnserve "$dtype" tg128 1 "$tg" "$round"
    emit attnserve "$dtype" pp512 1 "$pp" "$round"
    "$LLAMA_BIN/llama-bench" -m "$gguf" -t "$THREADS" -p 512 -n 128 -r 2 -o jsonl 2>/dev/null |
      python3 -c "
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    test = 'pp512' if r['n_prompt'] else 'tg128'
    print(test, r['avg_ts'])" | while read -r test ts; do emit llama.cpp "$dtype" "$test" 1 "$ts" "$round"; done
    echo "round $round $dtype done" >&2
  done
  for dtype in bf16 q8_0; do
    gguf="$GGUF_PREFIX.${GGUF_NAME[$dtype]}.gguf"
    for streams in 1 4 16 64; do
      read -r _ tg < <(ours "$dtype" 32 32 "$streams")
      emit attnserve "$dtype" batched_tg32 "$streams" "$tg" "$round"
    done
    "$LLAMA_BIN/llama-batched-bench" -m "$gguf" -t "$THREADS" -c 8192 -b 2048 -ub 512 -npp 32 -ntg 32 \
      -npl 1,4,16,64 --output-format jsonl 2>/dev/null | python3 -c "
import json, sys
for line in sys.stdin:
    line = line.strip()
    if line.startswith('{'):
        r = json.loads(line)
        print(r['pl'], r['speed_tg'])" | while read -r pl ts; do emit llama.cpp "$dtype" batched_tg32 "$pl" "$ts" "$round"; done
    echo "round $round batched $dtype done" >&2
  done
done

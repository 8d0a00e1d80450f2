#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz (docs/reliability.md, "Fuzzing"), one after another:
#
#   tools/fuzz.sh [minutes-per-target] [target...]      # default: 8 minutes, every target
#   tools/fuzz.sh 10 gguf chat_template
#
# Configures and builds build-fuzz/ (clang-14, -DATTNSERVE_FUZZ=ON: ASan + UBSan + coverage) when
# needed, then for each target copies the committed seeds tests/fuzz/corpus/<target>/ into the
# working corpus build-fuzz/corpus/<target>/ (which keeps growing across runs; the committed corpus
# is never written), fuzzes for the given minutes, saves crashes / leaks / timeouts / OOMs to
# build-fuzz/crashes/<target>/, prints one summary line per target and appends it to
# build-fuzz/fuzz_log.tsv. Environment: FUZZ_BUILD_JOBS (default 2), FUZZ_KEEP_GOING=1 (fork mode:
# go on after a crash), FUZZ_NO_BUILD=1 (use the binaries as they are).
# Exit status: 0 when no target found anything, 1 otherwise.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
ALL_TARGETS=(safetensors_header model_config tokenizer_json tokenize gguf chat_template generate_request openai_request)

MINUTES="${1:-8}"
if ! [[ "$MINUTES" =~ ^[0-9]+([.][0-9]+)?$ ]]; then
  echo "usage: tools/fuzz.sh [minutes-per-target] [target...]  (targets: ${ALL_TARGETS[*]})" >&2
  exit 2
fi
shift || true
TARGETS=("$@")
[ "${#TARGETS[@]}" -eq 0 ] && TARGETS=("${ALL_TARGETS[@]}")
for t in "${TARGETS[@]}"; do
  if [ ! -d "$ROOT/tests/fuzz/corpus/$t" ]; then
    echo "tools/fuzz.sh: unknown target '$t' (targets: ${ALL_TARGETS[*]})" >&2
    exit 2
  fi
done

# Largest input libFuzzer may make, per target (file formats need room; short texts do not).
max_len() {
  case "$1" in
    gguf) echo 65536 ;;
    tokenizer_json) echo 32768 ;;
    chat_template | safetensors_header | model_config) echo 16384 ;;
    *) echo 8192 ;;
  esac
}

if [ "${FUZZ_NO_BUILD:-0}" != "1" ]; then
  if ! grep -q '^ATTNSERVE_FUZZ:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
      -DATTNSERVE_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 1
  fi
  build_targets=()
  for t in "${TARGETS[@]}"; do build_targets+=(--target "${t}_fuzzer"); done
  cmake --build "$BUILD" -j"${FUZZ_BUILD_JOBS:-2}" "${build_targets[@]}" >"$BUILD/fuzz_build.log" 2>&1 || {
    tail -30 "$BUILD/fuzz_build.log" >&2
    echo "tools/fuzz.sh: build failed (build-fuzz/fuzz_build.log)" >&2
    exit 1
  }
fi

LOG_TSV="$BUILD/fuzz_log.tsv"
[ -f "$LOG_TSV" ] || printf 'date\ttarget\tminutes\tseconds\texecs\texecs_per_s\tcorpus_files\tnew_artifacts\texit\tcommit\n' >"$LOG_TSV"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
SECONDS_PER_TARGET="$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')"
found=0

for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t"
  crashes="$BUILD/crashes/$t"
  mkdir -p "$corpus" "$crashes" "$BUILD/logs"
  cp -n "$ROOT/tests/fuzz/corpus/$t"/* "$corpus"/ 2>/dev/null || true
  before="$(ls "$crashes" | wc -l)"
  log="$BUILD/logs/$t-$(date +%Y%m%d-%H%M%S).log"
  extra=()
  if [ "${FUZZ_KEEP_GOING:-0}" = "1" ]; then
    extra=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
  fi
  start="$(date +%s)"
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
    "$BUILD/bin/${t}_fuzzer" "$corpus" -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$t")" \
    -timeout=30 -rss_limit_mb=2048 -artifact_prefix="$crashes/" -print_final_stats=1 "${extra[@]}" \
    >"$log" 2>&1
  rc=$?
  elapsed=$(($(date +%s) - start))
  # Status lines: "#<execs> ... exec/s: <n> ..." (the last one counts).
  execs="$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')"
  rate="$(grep -oE 'exec/s: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')"
  files="$(ls "$corpus" | wc -l)"
  new=$(($(ls "$crashes" | wc -l) - before))
  [ "$new" -gt 0 ] || [ "$rc" -ne 0 ] && found=1
  printf '%-20s %5ss  runs %10s  %6s execs/s  corpus %5s files  crashes %s  (exit %s, log %s)\n' \
    "$t" "$elapsed" "${execs:-0}" "${rate:-0}" "$files" "$new" "$rc" "${log#"$ROOT"/}"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$MINUTES" "$elapsed" \
    "${execs:-0}" "${rate:-0}" "$files" "$new" "$rc" "$COMMIT" >>"$LOG_TSV"
  if [ "$new" -gt 0 ]; then
    ls -t "$crashes" | head -"$new" | sed "s|^|    $crashes/|"
  fi
done
exit "$found"

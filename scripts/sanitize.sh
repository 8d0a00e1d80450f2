#!/usr/bin/env bash
# Sanitizer builds of the test suite (issue 19; docs/reliability.md "Sanitizers"):
#   scripts/sanitize.sh asan   ASan + UBSan + LeakSanitizer, build-asan/, the whole suite but the
#                              exclusions below
#   scripts/sanitize.sh tsan   ThreadSanitizer, build-tsan/, the scope below
# Configures (ATTNSERVE_SANITIZE), builds, and runs ctest with every process of the tests (test
# binaries, the daemons they start, the CLI and bench clients) writing sanitizer reports into
# <build>/sanitizer-logs/; any report, or any failed test, fails the script. Needs the default
# chat model like scripts/run_tests.sh (ATTNSERVE_SMOLLM2_GGUF is passed through).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
supp="$root/scripts/sanitizers"

kind="${1:-}"
case "$kind" in
  asan)
    build=build-asan
    sanitize="address,undefined"
    # -O1: ASan's usual level; quicker to build than -O2/-O3. -g1: line tables only, enough for
    # file:line in reports, with less to compile and link than full -g.
    opt="-O1 -g1 -DNDEBUG"
    ;;
  tsan)
    build=build-tsan
    sanitize="thread"
    opt="-O1 -g1 -DNDEBUG"
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan" >&2
    exit 2
    ;;
esac

# Excluded by label, in both builds:
#   deploy  lint/validation of deploy/ files (promtool, yamllint, compose, kustomize) and
#           Prometheus/Envoy integration: they test configuration, run uninstrumented tools, and
#           their daemons' code paths are already covered by the server tests.
#   soak    the two-minute soak is a load test by design; under a sanitizer it measures the
#           sanitizer, and its fault cases are already covered by the server tests.
exclude_labels="deploy|soak"
ctest_select=(-LE "$exclude_labels")
build_targets=()  # all
if [ "$kind" = tsan ]; then
  # TSan covers the scheduler and engine tests (labels scheduler, engine: the engine loop thread
  # against submitting, cancelling and status-reading threads, the OpenMP kernels, the golden
  # models) and builds only those binaries. Not the daemon tests: Debian's gRPC is not built with
  # TSan, so every hand-off between its threads (a reactor made on one, its OnDone on another)
  # reads as a race; docs/reliability.md, "Sanitizers", has what was seen and what would fix it.
  ctest_select+=(-L "scheduler|engine")
  build_targets=(--target attnserve_scheduler_test attnserve_engine_test)
fi

logs="$root/$build/sanitizer-logs"
start=$(date +%s)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$opt" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=$opt" \
  -DATTNSERVE_SANITIZE="$sanitize" -DATTNSERVE_CUDA=OFF >/dev/null
configured=$(date +%s)

# The same options while building: gtest_discover_tests runs each test binary once.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:strict_init_order=1:check_initialization_order=1:log_path=$logs/asan"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
# ignore_noninstrumented_modules: accesses from uninstrumented libraries (libomp, gRPC, OpenBLAS)
# are not checked; Archer annotates libomp's barriers and tasks (CMakeLists.txt links libomp).
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$supp/tsan.supp:log_path=$logs/tsan"
if [ "$kind" = tsan ]; then export OMP_TOOL_LIBRARIES=/usr/lib/llvm-14/lib/libarcher.so; fi
rm -rf "$logs"
mkdir -p "$logs"
cmake --build "$build" -j"$(nproc)" "${build_targets[@]}"
built=$(date +%s)

status=0
(cd "$build" && ctest --output-on-failure -j"$(nproc)" --timeout 900 "${ctest_select[@]}") || status=$?
tested=$(date +%s)

if compgen -G "$logs/*" >/dev/null; then
  echo "attnserve: $kind: sanitizer reports in $logs:" >&2
  for f in "$logs"/*; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
echo "attnserve: $kind: configure $((configured - start)) s, build $((built - configured)) s," \
  "ctest $((tested - built)) s (exit $status)"
exit "$status"

#!/usr/bin/env bash
# One command: install what is missing, fetch the default chat model, build, and run every test
# (ctest). The SmolLM2 GGUF tests run on the fetched file (ATTNSERVE_SMOLLM2_GGUF); they are
# reported as skipped only when it could not be fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
if gguf="$(scripts/fetch_default_model.sh)"; then
  export ATTNSERVE_SMOLLM2_GGUF="$gguf"
else
  echo "attnserve: SmolLM2 GGUF not fetched; its tests will be skipped" >&2
fi
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600

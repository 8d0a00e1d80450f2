#!/usr/bin/env bash
# One command: install what is missing, fetch the default chat model, build, and run every test
# (ctest). The SmolLM2 GGUF tests run on the fetched file (tests/default_chat_model.h), so a failed
# fetch stops here.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
if ! gguf="$(scripts/fetch_default_model.sh)"; then
  echo "attnserve: the default chat model could not be fetched; the tests need it" >&2
  exit 1
fi
export ATTNSERVE_SMOLLM2_GGUF="$gguf"
scripts/build.sh
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 600

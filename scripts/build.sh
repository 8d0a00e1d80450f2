#!/usr/bin/env bash
# Configures and builds attnserve (Release) into build/; binaries land in build/bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${ATTNSERVE_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"

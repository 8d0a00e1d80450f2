#!/usr/bin/env bash
# One command: install what is missing, build, and start the server on the embedded default
# model (gRPC on :50051, Prometheus metrics on :9400/metrics). Extra arguments go to attnserve.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
exec build/bin/attnserve "$@"

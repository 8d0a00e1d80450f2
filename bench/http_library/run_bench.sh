#!/usr/bin/env bash
# Runs the HTTP-library SSE benchmark matrix (bounded: every server exits by
# itself, every client stops at --duration_s) on 127.0.0.1 and appends one JSON
# line per run to $OUT_JSONL. Build first:
#   cmake -S bench/http_library -B /tmp/http_library_build && make -C /tmp/http_library_build
set -euo pipefail
BUILD=${BUILD:-/tmp/http_library_build}
OUT_JSONL=${OUT_JSONL:-/tmp/http_library_results.jsonl}
DURATION_S=${DURATION_S:-8}    # client deadline per run
PORT=${PORT:-18200}
: > "$OUT_JSONL"

run() {  # label, server command..., then "--" client flags
  local label=$1; shift
  local server=()
  while [[ $1 != -- ]]; do server+=("$1"); shift; done; shift
  PORT=$((PORT + 1))
  "${server[@]}" --port "$PORT" --exit_after_s $((DURATION_S + 5)) > /dev/null &
  local pid=$!
  sleep 0.3
  "$BUILD/sse_load" --port "$PORT" --server_pid "$pid" --duration_s "$DURATION_S" \
      --label "$label" "$@" | tee -a "$OUT_JSONL"
  kill "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
}

matrix() {  # label, then the server command; runs C = 1, 64, 256, then 64 and 256 with 256 idle
  local label=$1; shift
  for c in 1 64 256; do run "$label" "$@" -- --concurrency "$c"; done
  for c in 64 256; do run "$label" "$@" -- --concurrency "$c" --idle 256; done
}

matrix beast "$BUILD/beast_sse_server" --threads 2
matrix httplib-default "$BUILD/httplib_sse_server"
matrix httplib-pool600 "$BUILD/httplib_sse_server" --pool 600
# Enlarged pool plus the two settings that bite at 256 connections: listen
# backlog (5 in Debian's .so, raised by a second listen()) and keep-alive timeout
# (5 s default; 120 s like the Beast server's idle timeout).
matrix httplib-pool600-tuned "$BUILD/httplib_sse_server" --pool 600 --backlog 4096 --keepalive_s 120
# Nagle left on (httplib's own default is set_tcp_nodelay(false)).
run httplib-pool600-tuned-nagle "$BUILD/httplib_sse_server" --pool 600 --backlog 4096 \
    --keepalive_s 120 --nodelay 0 -- --concurrency 64

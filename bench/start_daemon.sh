# Sourced by the benchmark scripts: start_daemon ARGS... starts $BUILD_DIR/bin/attnserve on
# 127.0.0.1:$PORT (metrics off) with the extra ARGS, stops it when the script exits, and waits
# until it answers GetModelInfo.
start_daemon() {
  "$BUILD_DIR/bin/attnserve" --port="$PORT" --metrics_port=0 --host=127.0.0.1 "$@" &
  DAEMON=$!
  trap 'kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null || true' EXIT
  for _ in $(seq 100); do
    "$BUILD_DIR/bin/attnserve-cli" --addr="127.0.0.1:$PORT" info > /dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "attnserve did not start on port $PORT" >&2
  return 1
}

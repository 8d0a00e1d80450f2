// RunDaemon: the attnserve process from start-up to shutdown.
//
// Start-up order (the model is loaded before any port serves gRPC, so a reachable server is always
// a ready one; Kubernetes probes see "connection refused" and then SERVING):
//   flag checks → metrics exposer (--metrics_port) → Engine::Load + Start → gRPC server
//   (Inference, health, reflection) → health SERVING
// Shutdown on the first stop signal — a graceful drain:
//
//   signal ─▶ health NOT_SERVING ─▶ Engine::BeginDrain (new Generate/Score: UNAVAILABLE)
//          ─▶ wait until Engine::Idle(), --drain_timeout passes, or a second signal
//          ─▶ Engine::Stop (what is left ends CANCELLED) ─▶ open calls get up to
//             --shutdown_grace_seconds to write their last messages ─▶ gRPC Shutdown ─▶ exit 0
//
// The gRPC server keeps accepting calls during the drain, so clients get a retryable UNAVAILABLE
// rather than a refused connection while load balancers catch up with NOT_SERVING.
#pragma once

#include <chrono>
#include <functional>

#include "server/flags.h"

namespace attnserve::server {

// Blocks up to `timeout` for a stop request (SIGTERM / SIGINT); true when one arrived. Each call
// consumes at most one request.
using WaitForStop = std::function<bool(std::chrono::milliseconds timeout)>;

// Returns the process exit code: 0 after a clean shutdown; 1 when start-up fails (the reason,
// naming the flag, file or address, is printed to stderr). Blocks in wait_for_stop while serving.
int RunDaemon(const ServerOptions& options, const WaitForStop& wait_for_stop);

}  // namespace attnserve::server

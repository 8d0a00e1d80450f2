// RunDaemon: the attnserve process from start-up to shutdown.
//
// Start-up order (the model is loaded before any port serves gRPC, so a reachable server is always
// a ready one; Kubernetes probes see "connection refused" and then SERVING):
//   metrics exposer (--metrics_port) → Engine::Load + Start → gRPC server (Inference, health,
//   reflection) → health SERVING
// Shutdown (when wait_for_stop returns): health NOT_SERVING → gRPC Shutdown with a grace
// deadline (calls still running after it are cancelled) → Engine::Stop.
#pragma once

#include <functional>

#include "server/flags.h"

namespace attnserve::server {

// Returns the process exit code: 0 after a clean shutdown; 1 when start-up fails (the reason,
// naming the file or address, is printed to stderr). Blocks in wait_for_stop while serving.
int RunDaemon(const ServerOptions& options, const std::function<void()>& wait_for_stop);

}  // namespace attnserve::server

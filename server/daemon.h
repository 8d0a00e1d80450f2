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
// SIGHUP at any time reloads the TLS files and the API keys file (see DaemonSignal).
//
// The gRPC server keeps accepting calls during the drain, so clients get a retryable UNAVAILABLE
// rather than a refused connection while load balancers catch up with NOT_SERVING.
#pragma once

#include <chrono>
#include <functional>

#include "server/flags.h"

namespace attnserve::server {

// What woke the daemon: nothing (timeout), a stop request (SIGTERM / SIGINT) or a reload request
// (SIGHUP: re-read --tls_cert/--tls_key/--tls_client_ca and --api_keys_file; a bad file is
// reported and the old one kept, open streams continue).
enum class DaemonSignal { kTimeout, kStop, kReload };

// Blocks up to `timeout` for a signal. Each call consumes at most one.
using WaitForSignal = std::function<DaemonSignal(std::chrono::milliseconds timeout)>;

// Returns the process exit code: 0 after a clean shutdown; 1 when start-up fails (the reason,
// naming the flag, file or address, is printed to stderr). Blocks in wait_for_signal while serving.
int RunDaemon(const ServerOptions& options, const WaitForSignal& wait_for_signal);

}  // namespace attnserve::server

// DaemonProcess: runs the real attnserve binary (ATTNSERVE_BINARY) as a child process for the
// end-to-end tests — start on free ports and wait for health SERVING, or run to exit and collect
// stderr (start-up error cases). Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace grpc {
class Channel;
}

namespace attnserve::testing {

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back, close).
int FreePort();

struct ExitResult {
  bool exited = false;   // false: still running at the timeout (then it was killed)
  int exit_code = -1;    // valid when exited normally
  int signal = 0;        // non-zero when killed by a signal
  std::string stderr_text;
};

// Runs ATTNSERVE_BINARY with `args` to completion (killed after `timeout`).
ExitResult RunToExit(const std::vector<std::string>& args, std::chrono::seconds timeout);

class DaemonProcess {
 public:
  DaemonProcess() = default;
  ~DaemonProcess();  // SIGKILL if still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Starts the daemon on 127.0.0.1 with fresh --port / --metrics_port plus `extra_args`, and waits
  // until grpc.health.v1 reports SERVING for "attnserve.v1.Inference". Returns false (with the
  // reason and the daemon's stderr in *error) on timeout or early exit.
  bool Start(const std::string& model_dir, const std::vector<std::string>& extra_args,
             std::chrono::seconds timeout, std::string* error);

  // SIGTERM, then waits up to `timeout` for the exit (SIGKILL after). Returns the exit result.
  ExitResult Stop(std::chrono::seconds timeout);

  // Sends `signal_number` (e.g. SIGTERM) and returns at once.
  void Signal(int signal_number);
  // Waits up to `timeout` for the exit; SIGKILL when it has not exited by then (exited = false).
  ExitResult WaitForExit(std::chrono::seconds timeout);

  // How Start reaches the daemon for its health check (default: a plaintext channel); TLS tests
  // set a channel with their credentials. Call before Start.
  void set_channel_factory(std::function<std::shared_ptr<grpc::Channel>(const std::string& address)> f) {
    channel_factory_ = std::move(f);
  }

  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  int metrics_port() const { return metrics_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string stderr_text() const;  // what the daemon printed so far

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int metrics_port_ = 0;
  std::string stderr_path_;
  std::function<std::shared_ptr<grpc::Channel>(const std::string& address)> channel_factory_;
};

}  // namespace attnserve::testing

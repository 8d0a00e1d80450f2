// attnserve: the LLM-serving daemon. Parses flags, turns SIGINT/SIGTERM into stop requests (the
// first starts a graceful drain, a second ends it) and SIGHUP into a reload (TLS files, API keys),
// and hands over to RunDaemon (server/daemon.h).
// `attnserve --help` lists the flags.
#include <pthread.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <cstdio>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "server/daemon.h"
#include "server/flags.h"

int main(int argc, char** argv) {
  // --help / --helpshort list the daemon's own flags (defined in server/flags.cc).
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "server/flags.cc");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(
      "serves a language model over gRPC (attnserve.v1.Inference, grpc.health.v1, "
      "reflection) with Prometheus metrics.\nUsage: attnserve [--model=DIR] [--port=N] ...");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  if (positional.size() > 1) {
    std::fprintf(stderr, "attnserve: unexpected argument '%s' (see --help)\n", positional[1]);
    return 2;
  }

  // Block the stop signals in every thread (threads inherit the mask), then wait for them here.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGHUP);  // reload (TLS files, API keys), not stop
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  return attnserve::server::RunDaemon(
      attnserve::server::ServerOptionsFromFlags(), [&](std::chrono::milliseconds timeout) {
        const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
        const timespec wait = {
            .tv_sec = static_cast<time_t>(seconds.count()),
            .tv_nsec = static_cast<long>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(timeout - seconds).count())};
        const int signal_number = sigtimedwait(&stop_signals, nullptr, &wait);
        if (signal_number < 0) return attnserve::server::DaemonSignal::kTimeout;  // EAGAIN or EINTR
        if (signal_number == SIGHUP) return attnserve::server::DaemonSignal::kReload;
        std::fprintf(stderr, "attnserve: received signal %d (%s)\n", signal_number,
                     signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
        return attnserve::server::DaemonSignal::kStop;
      });
}

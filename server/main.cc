// attnserve: the LLM-serving daemon. Parses flags, turns SIGINT/SIGTERM into a clean shutdown and
// hands over to RunDaemon (server/daemon.h). `attnserve --help` lists the flags.
#include <pthread.h>

#include <csignal>
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
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  return attnserve::server::RunDaemon(attnserve::server::ServerOptionsFromFlags(), [&] {
    int signal_number = 0;
    sigwait(&stop_signals, &signal_number);
    std::fprintf(stderr, "attnserve: received signal %d\n", signal_number);
  });
}

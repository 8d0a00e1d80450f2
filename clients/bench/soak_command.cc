// attnserve-bench --soak (see soak_command.h): flags into SoakOptions, run, print, exit code.
#include "clients/bench/soak_command.h"

#include <cstdio>
#include <fstream>

#include "absl/flags/flag.h"
#include "clients/bench/soak.h"

ABSL_FLAG(bool, soak, false,
          "Run the soak and fault test instead of a benchmark: --soak_streams slots send a seeded "
          "mix of normal, cancelled, disconnected, short-deadline, oversized and malformed "
          "requests for --soak_duration_s, then check endings, idle KV/state and RSS.");
ABSL_FLAG(uint32_t, soak_duration_s, 1800, "Soak: how long to keep the load on, seconds.");
ABSL_FLAG(uint32_t, soak_streams, 64, "Soak: concurrent client slots (one request each at a time).");
ABSL_FLAG(double, soak_cancel_fraction, 0.2,
          "Soak: fraction of requests the client cancels (before the first message or mid-stream).");
ABSL_FLAG(double, soak_disconnect_fraction, 0.05,
          "Soak: fraction sent on a fresh connection that is reset (TCP RST) mid-stream.");
ABSL_FLAG(double, soak_short_deadline_fraction, 0.1,
          "Soak: fraction with a 1-250 ms client deadline on a long generation.");
ABSL_FLAG(double, soak_oversized_fraction, 0.05,
          "Soak: fraction beyond the context, or (--soak_over_limit_share of them) beyond the "
          "daemon's gRPC receive limit.");
ABSL_FLAG(double, soak_over_limit_share, 0.05,
          "Soak: share of the oversized requests that are one byte over --soak_max_message_bytes.");
ABSL_FLAG(double, soak_malformed_fraction, 0.05,
          "Soak: fraction with an invalid field, or raw non-protobuf bytes on Generate.");
ABSL_FLAG(int32_t, soak_daemon_pid, 0,
          "Soak: pid whose VmRSS is sampled; 0 = the process listening on --addr's port (local).");
ABSL_FLAG(std::string, soak_metrics_addr, "",
          "Soak: the daemon's /metrics host:port, for the server-side request accounting check.");
ABSL_FLAG(double, soak_warmup_fraction, 0.2,
          "Soak: leading part of the run excluded from the RSS check.");
ABSL_FLAG(double, soak_rss_tolerance, 0.05,
          "Soak: allowed |RSS / RSS at the end of the warm-up - 1| afterwards.");
ABSL_FLAG(double, soak_rss_interval_s, 5, "Soak: seconds between RSS samples.");
ABSL_FLAG(uint64_t, soak_max_message_bytes, uint64_t{64} << 20,
          "Soak: the daemon's gRPC receive limit (the over-limit requests send one byte more).");
ABSL_FLAG(uint32_t, soak_request_timeout_s, 120,
          "Soak: deadline of requests without a short one (a hang ends as DEADLINE_EXCEEDED).");

namespace attnserve::bench {

bool SoakRequested() { return absl::GetFlag(FLAGS_soak); }

int RunSoakCommand(const std::string& addr, uint64_t seed, const std::string& json_path) {
  SoakOptions options;
  options.addr = addr;
  options.seed = seed;
  options.duration = std::chrono::seconds(absl::GetFlag(FLAGS_soak_duration_s));
  options.streams = absl::GetFlag(FLAGS_soak_streams);
  options.mix.cancel = absl::GetFlag(FLAGS_soak_cancel_fraction);
  options.mix.disconnect = absl::GetFlag(FLAGS_soak_disconnect_fraction);
  options.mix.short_deadline = absl::GetFlag(FLAGS_soak_short_deadline_fraction);
  options.mix.oversized = absl::GetFlag(FLAGS_soak_oversized_fraction);
  options.mix.malformed = absl::GetFlag(FLAGS_soak_malformed_fraction);
  options.mix.over_limit_share = absl::GetFlag(FLAGS_soak_over_limit_share);
  options.daemon_pid = absl::GetFlag(FLAGS_soak_daemon_pid);
  options.metrics_addr = absl::GetFlag(FLAGS_soak_metrics_addr);
  options.warmup_fraction = absl::GetFlag(FLAGS_soak_warmup_fraction);
  options.rss_tolerance = absl::GetFlag(FLAGS_soak_rss_tolerance);
  options.rss_interval = std::chrono::milliseconds(
      static_cast<int64_t>(absl::GetFlag(FLAGS_soak_rss_interval_s) * 1000));
  options.max_message_bytes = absl::GetFlag(FLAGS_soak_max_message_bytes);
  options.request_timeout = std::chrono::seconds(absl::GetFlag(FLAGS_soak_request_timeout_s));
  if (options.duration.count() == 0 || options.rss_interval.count() <= 0 ||
      !(options.warmup_fraction >= 0 && options.warmup_fraction < 1) ||
      !(options.rss_tolerance > 0) || options.streams == 0) {
    std::fprintf(stderr,
                 "attnserve-bench: --soak_duration_s, --soak_streams and --soak_rss_interval_s "
                 "must be > 0, --soak_warmup_fraction in [0, 1), --soak_rss_tolerance > 0\n");
    return 2;
  }
  const SoakMix& m = options.mix;
  if (m.cancel < 0 || m.disconnect < 0 || m.short_deadline < 0 || m.oversized < 0 ||
      m.malformed < 0 || m.cancel + m.disconnect + m.short_deadline + m.oversized + m.malformed > 1 ||
      !(m.over_limit_share >= 0 && m.over_limit_share <= 1)) {
    std::fprintf(stderr, "attnserve-bench: the --soak_*_fraction flags must be >= 0 and sum to <= 1, "
                         "--soak_over_limit_share in [0, 1]\n");
    return 2;
  }
  options.progress = [](const std::string& line) {
    std::fprintf(stderr, "attnserve-bench: soak %s\n", line.c_str());
  };
  std::fprintf(stderr, "attnserve-bench: soak of %u streams for %u s against %s...\n",
               options.streams, absl::GetFlag(FLAGS_soak_duration_s), addr.c_str());

  SoakReport report;
  std::string error;
  if (!RunSoak(options, &report, &error)) {
    std::fprintf(stderr, "attnserve-bench: soak: %s\n", error.c_str());
    return 1;
  }
  const nlohmann::json j = SoakReportJson(report);
  std::fputs(FormatSoakReport(report).c_str(), stdout);
  std::printf("%s\n", j.dump().c_str());
  std::fflush(stdout);
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << j.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "attnserve-bench: cannot write %s\n", json_path.c_str());
      return 1;
    }
  }
  return report.passed() ? 0 : 1;
}

}  // namespace attnserve::bench

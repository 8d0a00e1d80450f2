// Soak and fault test (attnserve-bench --soak): `streams` client slots keep the daemon busy for
// `duration` with a seeded mix of normal streams, cancellations, client disconnects, short
// deadlines, oversized and malformed requests (soak_requests.h), and check afterwards that the
// daemon survived them without losing anything:
//
//   endings      every request ends exactly once, with a code its kind allows; no UNKNOWN /
//                INTERNAL / UNAVAILABLE at all except UNAVAILABLE after our own TCP resets
//   streams      at most one final message, and nothing after it; an OK stream has its final
//                message and exactly max_tokens tokens (ignore_eos); every message carries the
//                request's own id
//   idle         afterwards nothing runs or waits, kv_blocks_free == kv_blocks_total, no
//                recurrent-state slot is held, health is SERVING
//   rss          (pid known) every sample after the warm-up (first 20%) is within ±5% of the
//                sample that ended the warm-up
//   server side  (metrics address given) the engine finished exactly the requests it admitted
//                (Δ attnserve_requests_total == Δ attnserve_requests_by_attention_total) and the
//                gRPC layer finished no more Generate calls than were sent
//
//   slot thread:  loop { request = factory.Next(rng) ; Execute (sync gRPC) ; ledger.Record }
//   main thread:  sample RSS every rss_interval ; at the end join, wait for idle, check
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "clients/bench/soak_requests.h"
#include "nlohmann/json.hpp"

namespace attnserve::bench {

struct SoakOptions {
  std::string addr = "localhost:50051";
  std::chrono::seconds duration{1800};
  uint32_t streams = 64;
  uint64_t seed = 0;
  SoakMix mix;
  pid_t daemon_pid = 0;            // 0: the process listening on addr's port, when local
  std::string metrics_addr;        // "" = no server-side cross-check
  double warmup_fraction = 0.2;
  double rss_tolerance = 0.05;
  std::chrono::milliseconds rss_interval{5000};
  std::chrono::seconds request_timeout{120};  // deadline of the kinds without a short one
  std::chrono::seconds idle_timeout{60};      // wait for the daemon to go idle at the end
  uint64_t max_message_bytes = uint64_t{64} << 20;  // the daemon's gRPC receive limit
  std::function<void(const std::string&)> progress;  // a line about once a minute (may be empty)
};

// Endings of one request kind.
struct SoakKindCounts {
  uint64_t sent = 0;
  uint64_t accepted = 0;  // saw a response message or an OK status
  std::map<std::string, uint64_t> by_code;     // final status code name -> count
  std::map<std::string, uint64_t> by_variant;  // sub-kind -> count
};

struct RssSample {
  double t_s = 0;
  uint64_t bytes = 0;
};

struct SoakReport {
  SoakOptions options;
  double elapsed_s = 0;
  uint64_t requests = 0;
  uint64_t accepted = 0;
  uint64_t output_tokens = 0;
  SoakKindCounts kinds[kNumSoakKinds];
  // Violations (each must be 0).
  uint64_t unexpected_status = 0;   // a code outside the kind's expected set
  uint64_t missing_ending = 0;      // OK without a final message, or a request never recorded
  uint64_t duplicate_ending = 0;    // a second final message, or messages after the final one
  uint64_t token_mismatch = 0;      // OK stream with tokens != max_tokens or usage disagreeing
  uint64_t foreign_request_id = 0;  // a message naming another request
  std::vector<std::string> examples;  // the first few violations, described
  // Health and load at the end.
  bool became_idle = false;
  std::string health;
  nlohmann::json server_status;  // GetServerStatus after the run: its load and pool fields
  // RSS.
  pid_t rss_pid = 0;
  std::vector<RssSample> rss;
  uint64_t rss_warmup_bytes = 0;
  double rss_max_deviation = 0;  // max |sample / warm-up - 1| after the warm-up
  // Server-side counters (deltas over the run), when a metrics address was given.
  nlohmann::json server_metrics;
  std::map<std::string, bool> checks;  // name -> passed
  bool passed() const;
};

// Runs the soak. Returns false (with *error) only when it cannot start (no server, bad mix).
bool RunSoak(const SoakOptions& options, SoakReport* report, std::string* error);

nlohmann::json SoakReportJson(const SoakReport& report);
std::string FormatSoakReport(const SoakReport& report);

}  // namespace attnserve::bench

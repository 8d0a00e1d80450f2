// BenchReport: the numbers vLLM's benchmark_serving reports, computed from one run's records, as
// a table for stdout and as JSON (with the run's configuration alongside).
//
// Throughput and latency statistics count successful requests only; failures are counted per gRPC
// status code. Latencies are in milliseconds: TTFT, TPOT (per request), ITL (per token), E2E.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "clients/bench/load_driver.h"
#include "clients/bench/stats.h"
#include "nlohmann/json.hpp"

namespace attnserve::bench {

struct BenchReport {
  uint32_t num_ok = 0;
  uint32_t num_failed = 0;
  std::map<std::string, uint32_t> failed_by_code;  // "UNAVAILABLE" -> count
  std::map<std::string, uint32_t> finish_reasons;  // of successful requests: "LENGTH" -> count
  double duration_s = 0;
  uint64_t total_input_tokens = 0;    // usage.prompt_tokens (the request's own count if absent)
  uint64_t total_output_tokens = 0;   // token ids received
  double request_throughput = 0;      // ok requests / s
  double output_throughput = 0;       // output tokens / s
  double total_token_throughput = 0;  // (input + output) tokens / s
  uint32_t max_in_flight = 0;         // most requests in flight at once (sent, not done)
  Summary ttft_ms, tpot_ms, itl_ms, e2e_ms;
  // Open loop: release -> send, the time a released request waited for a --max_concurrency slot.
  // (In closed loop every request is "released" at t = 0, so this is just its start offset.)
  Summary client_wait_ms;
};

// `requests` are the ones the run sent (for prompt lengths when the server sent no usage).
BenchReport MakeReport(const RunResult& run, const std::vector<v1::GenerateRequest>& requests);

// Human-readable table (vLLM's layout, with mean / p50 / p90 / p99 per latency); the client-wait
// row only when `open_loop`.
std::string FormatTable(const BenchReport& report, bool open_loop);

// {"config": config, "num_requests_ok": …, "ttft_ms": {"mean", "p50", …}, …}
nlohmann::json ToJson(const BenchReport& report, const nlohmann::json& config);

// Per-request rows for --detailed output.
nlohmann::json RecordsJson(const RunResult& run);

// "OK", "CANCELLED", … "UNAUTHENTICATED" (the number for unknown codes).
std::string StatusCodeName(int code);

}  // namespace attnserve::bench

// BenchReport (see report.h).
#include "clients/bench/report.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace attnserve::bench {
namespace {

double Ms(double seconds) { return seconds * 1e3; }

// Highest number of calls in flight at once (sent <= t < done), by a sweep over events.
uint32_t MaxInFlight(const RunResult& run) {
  std::vector<std::pair<Clock::time_point, int>> events;
  for (const RequestRecord& r : run.records) {
    if (!r.completed) continue;
    events.emplace_back(r.sent, +1);
    events.emplace_back(r.done, -1);
  }
  std::sort(events.begin(), events.end());  // ties: -1 before +1
  int current = 0, best = 0;
  for (const auto& [t, delta] : events) best = std::max(best, current += delta);
  return static_cast<uint32_t>(best);
}

nlohmann::json SummaryJson(const Summary& s) {
  return {{"mean", s.mean}, {"p50", s.p50}, {"p90", s.p90},    {"p99", s.p99},
          {"min", s.min},   {"max", s.max}, {"count", s.count}};
}

}  // namespace

std::string StatusCodeName(int code) {
  // gRPC status codes equal absl's; absl names them ("DEADLINE_EXCEEDED", ...).
  const std::string name = code >= 0 ? absl::StatusCodeToString(static_cast<absl::StatusCode>(code)) : "";
  return name.empty() ? absl::StrCat("CODE_", code) : name;
}

BenchReport MakeReport(const RunResult& run, const std::vector<v1::GenerateRequest>& requests) {
  BenchReport report;
  std::vector<double> ttft, tpot, itl, e2e, client_wait;
  for (size_t i = 0; i < run.records.size(); ++i) {
    const RequestRecord& r = run.records[i];
    if (!r.ok()) {
      ++report.num_failed;
      ++report.failed_by_code[StatusCodeName(r.completed ? r.status.error_code() : -1)];
      continue;
    }
    ++report.num_ok;
    ++report.finish_reasons[v1::FinishReason_Name(r.finish_reason)];
    report.total_input_tokens +=
        r.prompt_tokens > 0 ? r.prompt_tokens : requests[i].prompt_token_ids_size();
    report.total_output_tokens += r.output_tokens;
    if (r.output_tokens > 0) ttft.push_back(Ms(r.ttft_s()));
    if (r.output_tokens > 1) tpot.push_back(Ms(r.tpot_s()));
    for (double s : r.itl_s) itl.push_back(Ms(s));
    e2e.push_back(Ms(r.e2e_s()));
    client_wait.push_back(Ms(r.client_wait_s()));
  }
  report.duration_s = run.duration_s();
  if (report.duration_s > 0) {
    report.request_throughput = report.num_ok / report.duration_s;
    report.output_throughput = report.total_output_tokens / report.duration_s;
    report.total_token_throughput =
        (report.total_input_tokens + report.total_output_tokens) / report.duration_s;
  }
  report.max_in_flight = MaxInFlight(run);
  report.ttft_ms = Summarize(std::move(ttft));
  report.tpot_ms = Summarize(std::move(tpot));
  report.itl_ms = Summarize(std::move(itl));
  report.e2e_ms = Summarize(std::move(e2e));
  report.client_wait_ms = Summarize(std::move(client_wait));
  return report;
}

std::string FormatTable(const BenchReport& r, bool open_loop) {
  std::string out;
  auto line = [&](const std::string& name, const std::string& value) {
    absl::StrAppendFormat(&out, "%-36s %14s\n", name, value);
  };
  absl::StrAppend(&out, "================ attnserve-bench result ================\n");
  line("Successful requests:", absl::StrCat(r.num_ok));
  line("Failed requests:", absl::StrCat(r.num_failed));
  for (const auto& [code, count] : r.failed_by_code)
    line(absl::StrCat("  ", code, ":"), absl::StrCat(count));
  line("Benchmark duration (s):", absl::StrFormat("%.2f", r.duration_s));
  line("Max requests in flight:", absl::StrCat(r.max_in_flight));
  line("Total input tokens:", absl::StrCat(r.total_input_tokens));
  line("Total generated tokens:", absl::StrCat(r.total_output_tokens));
  line("Request throughput (req/s):", absl::StrFormat("%.2f", r.request_throughput));
  line("Output token throughput (tok/s):", absl::StrFormat("%.2f", r.output_throughput));
  line("Total token throughput (tok/s):", absl::StrFormat("%.2f", r.total_token_throughput));
  absl::StrAppendFormat(&out, "%-22s %10s %10s %10s %10s\n", "latency (ms)", "mean", "p50", "p90",
                        "p99");
  auto row = [&](const char* name, const Summary& s) {
    absl::StrAppendFormat(&out, "%-22s %10.2f %10.2f %10.2f %10.2f\n", name, s.mean, s.p50, s.p90,
                          s.p99);
  };
  row("TTFT", r.ttft_ms);
  row("TPOT", r.tpot_ms);
  row("ITL (per token)", r.itl_ms);
  row("E2E", r.e2e_ms);
  if (open_loop) row("Client wait for a slot", r.client_wait_ms);
  absl::StrAppend(&out, "========================================================\n");
  return out;
}

nlohmann::json ToJson(const BenchReport& r, const nlohmann::json& config) {
  nlohmann::json j;
  j["config"] = config;
  j["num_requests_ok"] = r.num_ok;
  j["num_requests_failed"] = r.num_failed;
  j["failed_by_code"] = r.failed_by_code;
  j["finish_reasons"] = r.finish_reasons;
  j["duration_s"] = r.duration_s;
  j["max_in_flight"] = r.max_in_flight;
  j["total_input_tokens"] = r.total_input_tokens;
  j["total_output_tokens"] = r.total_output_tokens;
  j["request_throughput"] = r.request_throughput;
  j["output_throughput"] = r.output_throughput;
  j["total_token_throughput"] = r.total_token_throughput;
  j["ttft_ms"] = SummaryJson(r.ttft_ms);
  j["tpot_ms"] = SummaryJson(r.tpot_ms);
  j["itl_ms"] = SummaryJson(r.itl_ms);
  j["e2e_ms"] = SummaryJson(r.e2e_ms);
  j["client_wait_ms"] = SummaryJson(r.client_wait_ms);
  return j;
}

nlohmann::json RecordsJson(const RunResult& run) {
  nlohmann::json rows = nlohmann::json::array();
  for (const RequestRecord& r : run.records) {
    nlohmann::json row;
    row["status"] = StatusCodeName(r.completed ? r.status.error_code() : -1);
    if (!r.status.ok()) row["error"] = r.status.error_message();
    row["finish_reason"] = v1::FinishReason_Name(r.finish_reason);
    row["prompt_tokens"] = r.prompt_tokens;
    row["output_tokens"] = r.output_tokens;
    row["num_messages"] = r.num_messages;
    row["start_ms"] = Ms(std::chrono::duration<double>(r.sent - run.start).count());
    row["ttft_ms"] = r.output_tokens > 0 ? Ms(r.ttft_s()) : 0.0;
    row["e2e_ms"] = Ms(r.e2e_s());
    row["client_wait_ms"] = Ms(r.client_wait_s());
    rows.push_back(std::move(row));
  }
  return rows;
}

}  // namespace attnserve::bench

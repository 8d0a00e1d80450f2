// The soak report (soak.h): one JSON object (also the machine-readable line attnserve-bench
// prints) and a human summary — requests by kind and ending, violations, RSS, the daemon after.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clients/bench/soak.h"

namespace attnserve::bench {
namespace {

double MiB(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

nlohmann::json KindJson(const SoakKindCounts& k) {
  return {{"sent", k.sent}, {"accepted", k.accepted}, {"by_code", k.by_code},
          {"by_variant", k.by_variant}};
}

// Totals over every kind by ending: ok / cancelled / deadline_exceeded / disconnected /
// rejected (INVALID_ARGUMENT, RESOURCE_EXHAUSTED, raw bytes' UNIMPLEMENTED) / shed_at_admission (a short
// deadline refused RESOURCE_EXHAUSTED up front) / other.
std::map<std::string, uint64_t> EndingTotals(const SoakReport& r) {
  std::map<std::string, uint64_t> out = {{"ok", 0},       {"cancelled", 0}, {"deadline_exceeded", 0},
                                         {"disconnected", 0}, {"rejected", 0}, {"shed_at_admission", 0}, {"other", 0}};
  for (int k = 0; k < kNumSoakKinds; ++k) {
    const SoakKind kind = static_cast<SoakKind>(k);
    for (const auto& [code, n] : r.kinds[k].by_code) {
      if (code == "OK") out["ok"] += n;
      else if (code == "CANCELLED" && kind == SoakKind::kCancel) out["cancelled"] += n;
      else if (code == "DEADLINE_EXCEEDED" && kind == SoakKind::kShortDeadline) out["deadline_exceeded"] += n;
      else if (code == "RESOURCE_EXHAUSTED" && kind == SoakKind::kShortDeadline) out["shed_at_admission"] += n;
      else if (code == "UNAVAILABLE" && kind == SoakKind::kDisconnect) out["disconnected"] += n;
      else if ((kind == SoakKind::kOversized || kind == SoakKind::kMalformed) &&
               (code == "INVALID_ARGUMENT" || code == "RESOURCE_EXHAUSTED" || code == "UNIMPLEMENTED"))
        out["rejected"] += n;
      else out["other"] += n;
    }
  }
  return out;
}

}  // namespace

nlohmann::json SoakReportJson(const SoakReport& r) {
  const SoakOptions& o = r.options;
  nlohmann::json kinds = nlohmann::json::object();
  for (int k = 0; k < kNumSoakKinds; ++k) {
    kinds[SoakKindName(static_cast<SoakKind>(k))] = KindJson(r.kinds[k]);
  }
  nlohmann::json rss = {{"pid", r.rss_pid}, {"sampled", r.rss_pid > 0 && !r.rss.empty()}};
  if (!r.rss.empty()) {
    uint64_t low = r.rss.front().bytes, high = low;
    for (const RssSample& s : r.rss) {
      low = std::min(low, s.bytes);
      high = std::max(high, s.bytes);
    }
    nlohmann::json samples = nlohmann::json::array();
    for (const RssSample& s : r.rss) samples.push_back({s.t_s, s.bytes});
    rss.update({{"first_bytes", r.rss.front().bytes}, {"warmup_bytes", r.rss_warmup_bytes},
                {"end_bytes", r.rss.back().bytes}, {"min_bytes", low}, {"max_bytes", high},
                {"max_deviation_after_warmup", r.rss_max_deviation},
                {"tolerance", o.rss_tolerance}, {"samples", samples}});
  }
  return {
      {"mode", "soak"},
      {"passed", r.passed()},
      {"checks", r.checks},
      {"config",
       {{"addr", o.addr},
        {"duration_s", o.duration.count()},
        {"streams", o.streams},
        {"seed", o.seed},
        {"cancel_fraction", o.mix.cancel},
        {"disconnect_fraction", o.mix.disconnect},
        {"short_deadline_fraction", o.mix.short_deadline},
        {"oversized_fraction", o.mix.oversized},
        {"malformed_fraction", o.mix.malformed},
        {"over_limit_share", o.mix.over_limit_share},
        {"warmup_fraction", o.warmup_fraction},
        {"metrics_addr", o.metrics_addr}}},
      {"elapsed_s", r.elapsed_s},
      {"requests", r.requests},
      {"accepted", r.accepted},
      {"output_tokens", r.output_tokens},
      {"endings", EndingTotals(r)},
      {"kinds", kinds},
      {"violations",
       {{"unexpected_status", r.unexpected_status},
        {"missing_ending", r.missing_ending},
        {"duplicate_ending", r.duplicate_ending},
        {"token_mismatch", r.token_mismatch},
        {"foreign_request_id", r.foreign_request_id}}},
      {"examples", r.examples},
      {"became_idle", r.became_idle},
      {"health", r.health},
      {"server_status_after", r.server_status},
      {"server_metrics", r.server_metrics},
      {"rss", rss},
  };
}

std::string FormatSoakReport(const SoakReport& r) {
  std::string out = absl::StrFormat(
      "============ Soak and fault test %s ============\n"
      "Duration (s), streams:                   %.1f, %u\n"
      "Requests sent / accepted:                %u / %u (%u output tokens)\n",
      r.passed() ? "PASSED" : "FAILED", r.elapsed_s, r.options.streams, r.requests, r.accepted,
      r.output_tokens);
  for (const auto& [ending, n] : EndingTotals(r)) {
    absl::StrAppendFormat(&out, "  ending %-33s %u\n", ending + ":", n);
  }
  for (int k = 0; k < kNumSoakKinds; ++k) {
    std::string codes;
    for (const auto& [code, n] : r.kinds[k].by_code) absl::StrAppend(&codes, " ", code, "=", n);
    absl::StrAppendFormat(&out, "  %-16s sent %-8u%s\n", SoakKindName(static_cast<SoakKind>(k)),
                          r.kinds[k].sent, codes);
  }
  absl::StrAppendFormat(&out,
                        "Violations: unexpected status %u, missing ending %u, duplicate ending %u, "
                        "token mismatch %u, foreign id %u\n",
                        r.unexpected_status, r.missing_ending, r.duplicate_ending, r.token_mismatch,
                        r.foreign_request_id);
  for (const std::string& e : r.examples) absl::StrAppend(&out, "  e.g. ", e, "\n");
  if (r.rss_pid > 0 && !r.rss.empty()) {
    absl::StrAppendFormat(&out,
                          "RSS of pid %d (MiB): first %.1f, warm-up %.1f, end %.1f, max deviation "
                          "after warm-up %.2f%% (tolerance %.0f%%)\n",
                          r.rss_pid, MiB(r.rss.front().bytes), MiB(r.rss_warmup_bytes),
                          MiB(r.rss.back().bytes), 100 * r.rss_max_deviation,
                          100 * r.options.rss_tolerance);
  } else {
    absl::StrAppend(&out, "RSS: not sampled (no local daemon pid; pass --soak_daemon_pid)\n");
  }
  const nlohmann::json& s = r.server_status;
  if (s.is_object()) {
    absl::StrAppendFormat(&out, "After: idle %s, health %s, running %s, waiting %s, KV blocks free %s / %s, "
                                "state slots used %s\n",
                          r.became_idle ? "yes" : "NO", r.health,
                          s.value("num_requests_running", nlohmann::json(0)).dump(),
                          s.value("num_requests_waiting", nlohmann::json(0)).dump(),
                          s.value("kv_blocks_free", nlohmann::json(0)).dump(),
                          s.value("kv_blocks_total", nlohmann::json(0)).dump(),
                          s.value("recurrent_state_slots_used", nlohmann::json(0)).dump());
  }
  if (!r.server_metrics.is_null()) absl::StrAppend(&out, "Server counters (delta): ", r.server_metrics.dump(), "\n");
  for (const auto& [name, ok] : r.checks) {
    absl::StrAppendFormat(&out, "  [%s] %s\n", ok ? "ok" : "FAIL", name);
  }
  return out;
}

}  // namespace attnserve::bench

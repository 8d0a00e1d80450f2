// Prometheus metrics (the metric table in README.md; dashboards in docs/deploy.md):
// PrometheusRequestObserver receives the engine's request lifecycle events
// (engine/request/request_observer.h) plus the server's rejections, and records them in a
// prometheus-cpp Registry; MetricsExposer serves that registry over HTTP at /metrics.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "engine/request/request_observer.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace prometheus {
class Exposer;
}

namespace attnserve::server {

// Thread-safe and non-blocking (prometheus-cpp metrics are atomics / short critical sections),
// as RequestObserver requires. Owns its metrics; the registry is shared with the exposer.
class PrometheusRequestObserver : public RequestObserver {
 public:
  PrometheusRequestObserver();
  explicit PrometheusRequestObserver(std::shared_ptr<prometheus::Registry> registry);

  void OnScheduled(double queue_time_s) override;
  void OnFirstToken(double ttft_s) override;
  void OnInterTokenLatency(double itl_s) override;
  void OnPromptTokens(uint64_t n) override;
  void OnGenerationTokens(uint64_t n) override;
  void OnFinished(FinishReason reason, double e2e_s) override;
  void OnQueueState(int64_t num_running, int64_t num_waiting) override;
  void OnPreemption() override;
  void OnPrefixCacheQuery(uint64_t queried, uint64_t hit) override;
  void OnKvCacheUsage(int64_t used_blocks, int64_t total_blocks) override;
  void OnStateSlots(int64_t used_slots, int64_t total_slots) override;
  void OnExpertTokens(int64_t layer, int64_t expert, uint64_t tokens) override;
  void OnShardTokens(int64_t shard, uint64_t tokens) override;
  void OnShardImbalance(double max_over_mean) override;
  void OnAttentionBackend(const std::string& backend) override;
  void OnContextPolicy(const std::string& kind) override;

  // A request the server refused before it reached the engine's queue. `reason` is a label value:
  // "invalid_argument" (failed validation), "queue_full", "unavailable", "other".
  void OnRejected(const std::string& reason);
  // A call refused with `status` (reason: its Refusal label, else by code) for API key `key`
  // (the key's name; "unknown" when no valid key came, "anonymous" without keys).
  void OnRejected(const absl::Status& status, std::string_view key);
  // A call admitted to do work for key `key`.
  void OnKeyRequest(std::string_view key);

  // One finished API call: `protocol` "grpc" or "http", `method` the RPC name ("Generate") or HTTP
  // route ("/v1/chat/completions"), `code` its final status (HTTP statuses map to the gRPC code
  // they stand for). Thread-safe.
  void OnApiRequest(std::string_view protocol, std::string_view method, absl::StatusCode code);

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Histogram& time_to_first_token_;
  prometheus::Histogram& inter_token_latency_;
  prometheus::Histogram& e2e_request_latency_;
  prometheus::Histogram& request_queue_time_;
  prometheus::Gauge& num_requests_running_;
  prometheus::Gauge& num_requests_waiting_;
  prometheus::Counter& prompt_tokens_;
  prometheus::Counter& generation_tokens_;
  prometheus::Counter& num_preemptions_;
  prometheus::Counter& prefix_cache_queries_;  // tokens
  prometheus::Counter& prefix_cache_hits_;     // tokens
  prometheus::Gauge& kv_cache_usage_ratio_;
  prometheus::Gauge& state_slots_used_;
  prometheus::Gauge& state_slots_total_;
  prometheus::Gauge& kv_cache_blocks_total_;
  prometheus::Gauge& kv_cache_blocks_used_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& expert_tokens_;  // {layer, expert}
  prometheus::Family<prometheus::Counter>& shard_tokens_;   // {shard}
  prometheus::Gauge& shard_imbalance_;
  prometheus::Family<prometheus::Counter>& requests_by_attention_;  // {attention}
  prometheus::Family<prometheus::Counter>& requests_by_context_policy_;  // {policy}
  prometheus::Family<prometheus::Counter>& api_requests_;  // {protocol, method, code}
  prometheus::Family<prometheus::Counter>& key_requests_;  // {key}
  prometheus::Family<prometheus::Counter>& key_rejections_;  // {key, reason}
};

// The `reason` label of attnserve_requests_rejected_total for a status that refused a request.
std::string RejectionReason(const absl::Status& status);

// Serves a registry at http://<host>:<port>/metrics until destroyed (the destructor returns once
// the listener has stopped, within milliseconds).
class MetricsExposer {
 public:
  // Binds the port; an error names the address when it cannot (e.g. already in use).
  static absl::StatusOr<std::unique_ptr<MetricsExposer>> Start(
      const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry);
  ~MetricsExposer();

 private:
  MetricsExposer(std::unique_ptr<prometheus::Exposer> exposer, std::string host);
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string host_;  // as configured (--host), to reach the listener again when stopping
};

}  // namespace attnserve::server

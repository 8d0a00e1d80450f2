// Prometheus metrics: PrometheusRequestObserver and MetricsExposer (see metrics.h).
#include "server/metrics.h"

#include "engine/admission/refusal.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <exception>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "prometheus/exposer.h"
#include "server/flags.h"

namespace attnserve::server {
namespace {

using prometheus::Histogram;

// Latency buckets in seconds, close to vLLM's so existing dashboards carry over.
const Histogram::BucketBoundaries kTtftBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                  0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0,
                                                  20.0,  40.0,  80.0, 160.0};
const Histogram::BucketBoundaries kItlBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075,
                                                 0.1,   0.15,   0.2,   0.3,  0.4,   0.5,  0.75,
                                                 1.0,   2.5,    5.0,   10.0};
const Histogram::BucketBoundaries kRequestBuckets = {0.01, 0.05, 0.1,  0.3,  0.5,  0.8,   1.0,
                                                     1.5,  2.0,  2.5,  5.0,  10.0, 15.0,  20.0,
                                                     30.0, 60.0, 120.0, 240.0, 480.0, 960.0};

Histogram& AddHistogram(prometheus::Registry& registry, const std::string& name,
                        const std::string& help, const Histogram::BucketBoundaries& buckets) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(registry).Add({}, buckets);
}

prometheus::Gauge& AddGauge(prometheus::Registry& registry, const std::string& name,
                            const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(registry).Add({});
}

prometheus::Family<prometheus::Counter>& AddCounterFamily(prometheus::Registry& registry,
                                                          const std::string& name,
                                                          const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(registry);
}

// Opens and closes a TCP connection to host:port (wildcard hosts: loopback). Errors are ignored.
void KnockOn(const std::string& host, int port) {
  std::string target = host;
  if (target.empty() || target == "0.0.0.0") target = "127.0.0.1";
  if (target == "::" || target == "[::]") target = "::1";
  if (target.size() > 2 && target.front() == '[') target = target.substr(1, target.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(target.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return;
  if (found != nullptr) {
    const int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
    if (fd >= 0) {
      (void)connect(fd, found->ai_addr, found->ai_addrlen);
      close(fd);
    }
  }
  freeaddrinfo(found);
}

}  // namespace

PrometheusRequestObserver::PrometheusRequestObserver()
    : PrometheusRequestObserver(std::make_shared<prometheus::Registry>()) {}

PrometheusRequestObserver::PrometheusRequestObserver(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      time_to_first_token_(AddHistogram(*registry_, "attnserve_time_to_first_token_seconds",
                                        "Time from request arrival to its first output token.",
                                        kTtftBuckets)),
      inter_token_latency_(AddHistogram(*registry_, "attnserve_inter_token_latency_seconds",
                                        "Time between consecutive output tokens of a request.",
                                        kItlBuckets)),
      e2e_request_latency_(AddHistogram(*registry_, "attnserve_e2e_request_latency_seconds",
                                        "Time from request arrival to its last output.",
                                        kRequestBuckets)),
      request_queue_time_(AddHistogram(*registry_, "attnserve_request_queue_time_seconds",
                                       "Time a request waited before it was first scheduled.",
                                       kRequestBuckets)),
      num_requests_running_(AddGauge(*registry_, "attnserve_num_requests_running",
                                     "Requests currently scheduled on the engine.")),
      num_requests_waiting_(AddGauge(*registry_, "attnserve_num_requests_waiting",
                                     "Requests queued and not yet scheduled.")),
      prompt_tokens_(AddCounterFamily(*registry_, "attnserve_prompt_tokens_total",
                                      "Prompt tokens processed.")
                         .Add({})),
      generation_tokens_(AddCounterFamily(*registry_, "attnserve_generation_tokens_total",
                                          "Output tokens generated.")
                             .Add({})),
      num_preemptions_(AddCounterFamily(*registry_, "attnserve_num_preemptions_total",
                                        "Running sequences preempted for lack of KV blocks (their "
                                        "KV is freed and recomputed later).")
                           .Add({})),
      prefix_cache_queries_(AddCounterFamily(*registry_, "attnserve_prefix_cache_queries_total",
                                             "Prompt tokens looked up in the prefix cache.")
                                .Add({})),
      prefix_cache_hits_(AddCounterFamily(*registry_, "attnserve_prefix_cache_hits_total",
                                          "Prompt tokens found in the prefix cache (not recomputed).")
                             .Add({})),
      kv_cache_usage_ratio_(AddGauge(*registry_, "attnserve_kv_cache_usage_ratio",
                                     "Fraction of KV-cache blocks referenced by running sequences "
                                     "(0 to 1).")),
      state_slots_used_(AddGauge(*registry_, "attnserve_recurrent_state_slots_used",
                                 "State-space models: recurrent-state slots held by running sequences "
                                 "(fixed size each, whatever the sequence length).")),
      state_slots_total_(AddGauge(*registry_, "attnserve_recurrent_state_slots_total",
                                  "State-space models: recurrent-state slots preallocated.")),
      kv_cache_blocks_total_(AddGauge(*registry_, "attnserve_kv_cache_blocks_total",
                                      "KV-cache blocks in the pool.")),
      kv_cache_blocks_used_(AddGauge(*registry_, "attnserve_kv_cache_blocks_used",
                                     "KV-cache blocks referenced by running sequences.")),
      requests_(AddCounterFamily(*registry_, "attnserve_requests_total",
                                 "Finished requests by finish_reason.")),
      rejected_(AddCounterFamily(*registry_, "attnserve_requests_rejected_total",
                                 "Requests refused before reaching the engine queue, by reason.")),
      expert_tokens_(AddCounterFamily(*registry_, "attnserve_moe_expert_tokens_total",
                                      "MoE: tokens routed to each expert of each MoE layer (a token counts "
                                      "once per selected expert).")),
      shard_tokens_(AddCounterFamily(*registry_, "attnserve_moe_shard_tokens_total",
                                     "MoE: (token, expert) pairs computed by each expert shard (worker).")),
      shard_imbalance_(AddGauge(*registry_, "attnserve_moe_shard_imbalance",
                                "MoE: max / mean expert-shard load over the last ~10 s (1 = even).")),
      requests_by_attention_(AddCounterFamily(*registry_, "attnserve_requests_by_attention_total",
                                              "Requests admitted, by attention backend (\"default\" = the "
                                              "model's own attention).")),
      requests_by_context_policy_(AddCounterFamily(*registry_, "attnserve_requests_by_context_policy_total",
                                                   "Requests admitted, by context policy kind (\"model_default\" = "
                                                   "config.json's positions; e.g. \"model_default:yarn\" when it scales).")),
      api_requests_(AddCounterFamily(*registry_, "attnserve_api_requests_total",
                                     "API calls by protocol (grpc, http), method (RPC name or HTTP "
                                     "route) and final status (canonical gRPC code name).")),
      key_requests_(AddCounterFamily(*registry_, "attnserve_api_key_requests_total",
                                     "Calls admitted to do work (Generate, Score, completions), by API "
                                     "key name (\"anonymous\" without keys).")),
      key_rejections_(AddCounterFamily(*registry_, "attnserve_api_key_rejections_total",
                                       "Calls refused, by API key name (\"unknown\" when no valid "
                                       "key came) and reason.")) {
  // Create every label value up front so dashboards and scrapes see zeros, not gaps.
  for (const char* reason : {"stop", "length", "cancelled", "error"}) {
    requests_.Add({{"finish_reason", reason}});
  }
  for (const char* reason : {"invalid_argument", "queue_full", "queue_time", "unavailable",
                             "unauthenticated", "permission_denied", "rate_limited",
                             "concurrency_limited", "prompt_too_long", "max_tokens_too_large", "other"}) {
    rejected_.Add({{"reason", reason}});
  }
}

void PrometheusRequestObserver::OnScheduled(double queue_time_s) {
  request_queue_time_.Observe(queue_time_s);
}
void PrometheusRequestObserver::OnFirstToken(double ttft_s) { time_to_first_token_.Observe(ttft_s); }
void PrometheusRequestObserver::OnInterTokenLatency(double itl_s) {
  inter_token_latency_.Observe(itl_s);
}
void PrometheusRequestObserver::OnPromptTokens(uint64_t n) {
  prompt_tokens_.Increment(static_cast<double>(n));
}
void PrometheusRequestObserver::OnGenerationTokens(uint64_t n) {
  generation_tokens_.Increment(static_cast<double>(n));
}

void PrometheusRequestObserver::OnFinished(FinishReason reason, double e2e_s) {
  // Family::Add returns the existing series for known labels (a short lock, no allocation).
  requests_.Add({{"finish_reason", FinishReasonName(reason)}}).Increment();
  e2e_request_latency_.Observe(e2e_s);
}

void PrometheusRequestObserver::OnQueueState(int64_t num_running, int64_t num_waiting) {
  num_requests_running_.Set(static_cast<double>(num_running));
  num_requests_waiting_.Set(static_cast<double>(num_waiting));
}

void PrometheusRequestObserver::OnPreemption() { num_preemptions_.Increment(); }

void PrometheusRequestObserver::OnPrefixCacheQuery(uint64_t queried, uint64_t hit) {
  prefix_cache_queries_.Increment(static_cast<double>(queried));
  prefix_cache_hits_.Increment(static_cast<double>(hit));
}

void PrometheusRequestObserver::OnKvCacheUsage(int64_t used_blocks, int64_t total_blocks) {
  kv_cache_blocks_used_.Set(static_cast<double>(used_blocks));
  kv_cache_blocks_total_.Set(static_cast<double>(total_blocks));
  kv_cache_usage_ratio_.Set(
      total_blocks > 0 ? static_cast<double>(used_blocks) / static_cast<double>(total_blocks) : 0.0);
}

void PrometheusRequestObserver::OnStateSlots(int64_t used_slots, int64_t total_slots) {
  state_slots_used_.Set(static_cast<double>(used_slots));
  state_slots_total_.Set(static_cast<double>(total_slots));
}

void PrometheusRequestObserver::OnExpertTokens(int64_t layer, int64_t expert, uint64_t tokens) {
  expert_tokens_.Add({{"layer", std::to_string(layer)}, {"expert", std::to_string(expert)}})
      .Increment(static_cast<double>(tokens));
}

void PrometheusRequestObserver::OnShardTokens(int64_t shard, uint64_t tokens) {
  shard_tokens_.Add({{"shard", std::to_string(shard)}}).Increment(static_cast<double>(tokens));
}

void PrometheusRequestObserver::OnShardImbalance(double max_over_mean) { shard_imbalance_.Set(max_over_mean); }

void PrometheusRequestObserver::OnAttentionBackend(const std::string& backend) {
  requests_by_attention_.Add({{"attention", backend}}).Increment();
}

void PrometheusRequestObserver::OnContextPolicy(const std::string& kind) {
  requests_by_context_policy_.Add({{"policy", kind}}).Increment();
}

void PrometheusRequestObserver::OnApiRequest(std::string_view protocol, std::string_view method,
                                             absl::StatusCode code) {
  api_requests_
      .Add({{"protocol", std::string(protocol)},
            {"method", std::string(method)},
            {"code", absl::StatusCodeToString(code)}})
      .Increment();
}

void PrometheusRequestObserver::OnRejected(const std::string& reason) {
  rejected_.Add({{"reason", reason}}).Increment();
}

void PrometheusRequestObserver::OnRejected(const absl::Status& status, std::string_view key) {
  const std::string reason = RejectionReason(status);
  rejected_.Add({{"reason", reason}}).Increment();
  key_rejections_.Add({{"key", std::string(key)}, {"reason", reason}}).Increment();
}

void PrometheusRequestObserver::OnKeyRequest(std::string_view key) {
  key_requests_.Add({{"key", std::string(key)}}).Increment();
}

std::string RejectionReason(const absl::Status& status) {
  if (std::string reason = RefusalReason(status); !reason.empty()) return reason;
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument: return "invalid_argument";
    case absl::StatusCode::kResourceExhausted: return "queue_full";
    case absl::StatusCode::kUnavailable: return "unavailable";
    default: return "other";
  }
}

absl::StatusOr<std::unique_ptr<MetricsExposer>> MetricsExposer::Start(
    const std::string& host, int port, std::shared_ptr<prometheus::Registry> registry) {
  const std::string address = HostPort(host, port);
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    exposer = std::make_unique<prometheus::Exposer>(address, /*num_threads=*/1);
  } catch (const std::exception& e) {
    return absl::UnavailableError("metrics: cannot listen on " + address + ": " + e.what());
  }
  exposer->RegisterCollectable(registry);
  return std::unique_ptr<MetricsExposer>(new MetricsExposer(std::move(exposer), host));
}

MetricsExposer::MetricsExposer(std::unique_ptr<prometheus::Exposer> exposer, std::string host)
    : exposer_(std::move(exposer)), host_(std::move(host)) {}

MetricsExposer::~MetricsExposer() {
  // civetweb's listener thread polls its socket in 2 s slices and notices the stop only between
  // them; knocking on the port wakes it, so shutdown does not wait out the slice.
  const std::vector<int> ports = exposer_->GetListeningPorts();
  std::atomic<bool> stopped{false};
  std::thread knock([&] {
    while (!stopped.load() && !ports.empty()) {
      KnockOn(host_, ports.front());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  exposer_.reset();
  stopped = true;
  knock.join();
}

}  // namespace attnserve::server

// KeyQuotas (see key_quotas.h).
#include "server/access/key_quotas.h"

#include <algorithm>

#include "absl/strings/str_format.h"
#include "engine/admission/refusal.h"

namespace attnserve::server {

absl::StatusOr<QuotaLease> KeyQuotas::Acquire(const KeyPolicy& policy, Clock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  State& s = states_[policy.name];
  if (policy.max_concurrent_streams > 0 && s.open->load() >= policy.max_concurrent_streams) {
    return Refusal(absl::StatusCode::kResourceExhausted,
                   absl::StrFormat("API key '%s' already has %d of its %d concurrent calls open "
                                   "(max_concurrent_streams in --api_keys_file); retry when one ends",
                                   policy.name, s.open->load(), policy.max_concurrent_streams),
                   "concurrency_limited", 1.0);
  }
  if (policy.requests_per_minute > 0) {
    const double per_second = policy.requests_per_minute / 60.0;
    if (s.tokens < 0) {
      s.tokens = policy.burst;
    } else {
      const double elapsed = std::chrono::duration<double>(now - s.refilled).count();
      s.tokens = std::min(policy.burst, s.tokens + std::max(0.0, elapsed) * per_second);
    }
    s.refilled = now;
    if (s.tokens < 1) {
      const double retry_s = (1 - s.tokens) / per_second;
      return Refusal(absl::StatusCode::kResourceExhausted,
                     absl::StrFormat("API key '%s' is over its rate of %g requests per minute "
                                     "(burst %g; requests_per_minute in --api_keys_file); retry after %.1f s",
                                     policy.name, policy.requests_per_minute, policy.burst, retry_s),
                     "rate_limited", retry_s);
    }
    s.tokens -= 1;
  }
  s.open->fetch_add(1);
  return QuotaLease(s.open);
}

int32_t KeyQuotas::OpenCalls(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(name);
  return it == states_.end() ? 0 : it->second.open->load();
}

}  // namespace attnserve::server

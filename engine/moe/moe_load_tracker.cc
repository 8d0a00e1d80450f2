// MoeLoadTracker (see moe_load_tracker.h).
#include "engine/moe/moe_load_tracker.h"

#include <algorithm>

namespace attnserve {

void MoeLoadTracker::Publish(const MoeLoad& load, RequestObserver* observer) {
  if (load.shard_tokens.empty()) return;  // no MoE step yet
  if (reported_.shard_tokens.empty()) {
    reported_.shard_tokens.assign(load.shard_tokens.size(), 0);
    reported_.expert_tokens.resize(load.expert_tokens.size());
    for (size_t l = 0; l < load.expert_tokens.size(); ++l) reported_.expert_tokens[l].assign(load.expert_tokens[l].size(), 0);
  }
  if (load.shard_tokens == reported_.shard_tokens) return;
  if (observer) {
    for (size_t l = 0; l < load.expert_tokens.size(); ++l)
      for (size_t e = 0; e < load.expert_tokens[l].size(); ++e)
        if (const int64_t d = load.expert_tokens[l][e] - reported_.expert_tokens[l][e]; d > 0)
          observer->OnExpertTokens(static_cast<int64_t>(l), static_cast<int64_t>(e), static_cast<uint64_t>(d));
    for (size_t s = 0; s < load.shard_tokens.size(); ++s)
      if (const int64_t d = load.shard_tokens[s] - reported_.shard_tokens[s]; d > 0)
        observer->OnShardTokens(static_cast<int64_t>(s), static_cast<uint64_t>(d));
  }
  reported_ = load;
  const auto now = std::chrono::steady_clock::now();
  samples_.emplace_back(now, load.shard_tokens);
  while (samples_.size() > 2 && now - samples_[1].first > std::chrono::seconds(10)) samples_.pop_front();
  if (observer) observer->OnShardImbalance(Imbalance());
}

double MoeLoadTracker::Imbalance() const {
  if (samples_.empty()) return 0.0;
  const std::vector<int64_t>& last = samples_.back().second;
  const std::vector<int64_t>* first = samples_.size() > 1 ? &samples_.front().second : nullptr;
  double max = 0, sum = 0;
  for (size_t i = 0; i < last.size(); ++i) {
    const double d = static_cast<double>(last[i] - (first ? (*first)[i] : 0));
    max = std::max(max, d);
    sum += d;
  }
  return sum > 0 ? max / (sum / static_cast<double>(last.size())) : 0.0;
}

}  // namespace attnserve

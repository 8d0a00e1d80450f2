// MoeLoadTracker: turns the model's cumulative MoE routing counts (MoeLoad) into what dashboards
// and routers read — per-step deltas for the observer's counters (tokens per (layer, expert),
// per shard) and the recent shard imbalance: max / mean of the shards' loads over the last ~10 s
// (1.0 = perfectly even; 0 before any MoE work). Engine thread only.
#pragma once

#include <chrono>
#include <deque>
#include <utility>
#include <vector>

#include "engine/moe/moe_block.h"
#include "engine/request/request_observer.h"

namespace attnserve {

class MoeLoadTracker {
 public:
  // Call after each step with the model's counters; `observer` may be null.
  void Publish(const MoeLoad& load, RequestObserver* observer);
  double Imbalance() const;

 private:
  MoeLoad reported_;
  std::deque<std::pair<std::chrono::steady_clock::time_point, std::vector<int64_t>>> samples_;
};

}  // namespace attnserve

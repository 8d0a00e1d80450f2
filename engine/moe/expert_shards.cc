// ExpertShards workers (see expert_shards.h).
#include "engine/moe/expert_shards.h"

#include <omp.h>

#include <algorithm>

namespace attnserve {

ExpertShards::ExpertShards(ExpertPlacement placement, int total_threads, Backend* caller)
    : placement_(std::move(placement)), caller_(caller) {
  const int64_t n = placement_.num_shards();
  if (n <= 1) return;
  const int per_shard = std::max(1, total_threads / static_cast<int>(n));
  for (int64_t s = 0; s < n; ++s) backends_.push_back(caller_->WithThreads(per_shard));
  // Each worker's kernels open their own team inside the workers' team.
  if (per_shard > 1) omp_set_max_active_levels(std::max(2, omp_get_max_active_levels()));
}

void ExpertShards::Run(const std::function<void(int64_t, Backend&)>& fn) {
  const int64_t n = num_shards();
  if (backends_.empty()) {
    fn(0, *caller_);
    return;
  }
  // One OpenMP team of N: thread s is shard s (placed by OMP_PROC_BIND / OMP_PLACES like every
  // other team, so workers do not share a core the way threads inheriting a pinned mask would).
#pragma omp parallel num_threads(static_cast<int>(n))
  {
    // A team smaller than asked (OMP_THREAD_LIMIT, ...) still runs every shard.
    for (int64_t shard = omp_get_thread_num(); shard < n; shard += omp_get_num_threads())
      fn(shard, *backends_[shard]);
  }
}

}  // namespace attnserve

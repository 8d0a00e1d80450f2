// ExpertShards (docs/architecture.md): the experts of every MoE layer partitioned over N workers by
// an ExpertPlacement. A worker is one thread of an OpenMP team of N (so OpenMP's thread placement,
// e.g. OMP_PROC_BIND, puts the workers on different cores) with its own Backend on its share of
// the cores (GPUs talking over NCCL when the CUDA backend arrives). Run(fn) calls fn(shard,
// backend) on every shard at once and returns when all are done; the MoE block does the dispatch
// (tokens grouped by expert, so each shard receives only its experts' tokens) and the combine
// (weighted sum in a fixed order, so results do not depend on N) around it — the two points where
// an all-to-all between devices slots in. N = 1 runs on the caller's thread and backend. Not
// reentrant; the engine thread calls Run.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/moe/expert_placement.h"
#include "kernels/backend.h"

namespace attnserve {

class ExpertShards {
 public:
  // `caller` (not owned) serves N = 1; for N > 1 each worker gets a backend with
  // max(1, total_threads / N) compute threads (nested OpenMP teams).
  ExpertShards(ExpertPlacement placement, int total_threads, Backend* caller);
  ExpertShards(const ExpertShards&) = delete;
  ExpertShards& operator=(const ExpertShards&) = delete;

  const ExpertPlacement& placement() const { return placement_; }
  int64_t num_shards() const { return placement_.num_shards(); }

  void Run(const std::function<void(int64_t shard, Backend& backend)>& fn);

 private:
  ExpertPlacement placement_;
  Backend* caller_;
  std::vector<std::unique_ptr<Backend>> backends_;  // one per worker (N > 1)
};

}  // namespace attnserve

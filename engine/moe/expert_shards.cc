// ExpertShards workers (see expert_shards.h).
#include "engine/moe/expert_shards.h"

#include <algorithm>

namespace attnserve {

ExpertShards::ExpertShards(ExpertPlacement placement, int total_threads, Backend* caller)
    : placement_(std::move(placement)), caller_(caller) {
  const int64_t n = placement_.num_shards();
  if (n <= 1) return;
  const int per_shard = std::max(1, total_threads / static_cast<int>(n));
  for (int64_t s = 0; s < n; ++s) backends_.push_back(MakeCpuBackend(per_shard));
  for (int64_t s = 0; s < n; ++s) workers_.emplace_back([this, s] { WorkerLoop(s); });
}

ExpertShards::~ExpertShards() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

void ExpertShards::Run(const std::function<void(int64_t, Backend&)>& fn) {
  if (workers_.empty()) {
    fn(0, *caller_);
    return;
  }
  std::unique_lock<std::mutex> lock(mu_);
  job_ = &fn;
  pending_ = static_cast<int64_t>(workers_.size());
  ++generation_;
  start_cv_.notify_all();
  done_cv_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
}

void ExpertShards::WorkerLoop(int64_t shard) {
  uint64_t seen = 0;
  for (;;) {
    const std::function<void(int64_t, Backend&)>* job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
      job = job_;
    }
    (*job)(shard, *backends_[shard]);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_cv_.notify_one();
    }
  }
}

}  // namespace attnserve

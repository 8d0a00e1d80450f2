// ExpertPlacement: which experts of every MoE layer each expert shard (worker) holds
// (docs/architecture.md, Mixture-of-Experts). Contiguous by default (shard s holds experts [s·E/N,
// (s+1)·E/N), the first E % N shards one more), or read from a JSON placement file: {"shards": [[0,
// 3], [1, 2], ...]} (one list of expert indexes per shard). Every expert must be placed exactly
// once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

struct ExpertPlacement {
  std::vector<std::vector<int32_t>> shard_experts;  // [shard] -> experts, ascending
  std::vector<int32_t> shard_of_expert;             // [expert] -> shard
  int64_t num_shards() const { return static_cast<int64_t>(shard_experts.size()); }
};

// Errors name the flag: --expert_shards larger than the number of experts, < 1.
absl::StatusOr<ExpertPlacement> ContiguousPlacement(int64_t num_shards, int64_t num_experts);
// Errors name the file: unreadable, not JSON, an expert missing, repeated or out of range, an
// empty shard, or a shard count that differs from `num_shards` (when num_shards > 0).
absl::StatusOr<ExpertPlacement> PlacementFromFile(const std::string& path, int64_t num_shards,
                                                  int64_t num_experts);

}  // namespace attnserve

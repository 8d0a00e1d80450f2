// ExpertPlacement construction and validation (see expert_placement.h).
#include "engine/moe/expert_placement.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

// Fills shard_of_expert and checks every expert is placed exactly once; `origin` prefixes errors.
absl::Status Finish(ExpertPlacement& p, int64_t num_experts, const std::string& origin) {
  p.shard_of_expert.assign(num_experts, -1);
  for (int64_t s = 0; s < p.num_shards(); ++s) {
    std::vector<int32_t>& experts = p.shard_experts[s];
    if (experts.empty()) return absl::InvalidArgumentError(absl::StrCat(origin, ": shard ", s, " holds no expert"));
    std::sort(experts.begin(), experts.end());
    for (int32_t e : experts) {
      if (e < 0 || e >= num_experts) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": expert ", e, " (shard ", s,
                                                       ") is out of range; the model has ", num_experts, " experts"));
      }
      if (p.shard_of_expert[e] >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": expert ", e, " is placed twice (shards ",
                                                       p.shard_of_expert[e], " and ", s, ")"));
      }
      p.shard_of_expert[e] = static_cast<int32_t>(s);
    }
  }
  for (int64_t e = 0; e < num_experts; ++e) {
    if (p.shard_of_expert[e] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": expert ", e, " is not placed on any shard"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ExpertPlacement> ContiguousPlacement(int64_t num_shards, int64_t num_experts) {
  if (num_shards < 1) {
    return absl::InvalidArgumentError(absl::StrCat("--expert_shards=", num_shards, " must be >= 1"));
  }
  if (num_shards > num_experts) {
    return absl::InvalidArgumentError(absl::StrCat("--expert_shards=", num_shards, " exceeds the ",
                                                   num_experts, " experts of each MoE layer"));
  }
  ExpertPlacement p;
  p.shard_experts.resize(num_shards);
  int32_t e = 0;
  for (int64_t s = 0; s < num_shards; ++s) {
    const int64_t count = num_experts / num_shards + (s < num_experts % num_shards ? 1 : 0);
    for (int64_t i = 0; i < count; ++i) p.shard_experts[s].push_back(e++);
  }
  if (absl::Status st = Finish(p, num_experts, "contiguous placement"); !st.ok()) return st;
  return p;
}

absl::StatusOr<ExpertPlacement> PlacementFromFile(const std::string& path, int64_t num_shards,
                                                  int64_t num_experts) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the expert placement file"));
  std::stringstream text;
  text << in.rdbuf();
  const nlohmann::json j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  const nlohmann::json* shards = &j;
  if (j.is_object() && j.contains("shards")) shards = &j["shards"];
  if (j.is_discarded() || !shards->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": expected {\"shards\": [[experts of shard 0], [experts of shard 1], ...]}"));
  }
  ExpertPlacement p;
  for (const auto& shard : *shards) {
    if (!shard.is_array()) return absl::InvalidArgumentError(absl::StrCat(path, ": every shard must be a list of expert indexes"));
    std::vector<int32_t> experts;
    for (const auto& e : shard) {
      if (!e.is_number_integer()) return absl::InvalidArgumentError(absl::StrCat(path, ": expert index ", e.dump(), " is not an integer"));
      experts.push_back(e.get<int32_t>());
    }
    p.shard_experts.push_back(std::move(experts));
  }
  if (num_shards > 0 && p.num_shards() != num_shards) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": lists ", p.num_shards(), " shards but --expert_shards=", num_shards));
  }
  if (p.num_shards() > num_experts) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", p.num_shards(), " shards exceed the ", num_experts, " experts"));
  }
  if (absl::Status st = Finish(p, num_experts, path); !st.ok()) return st;
  return p;
}

}  // namespace attnserve

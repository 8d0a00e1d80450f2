// MoeBlock: one Mixture-of-Experts MLP (Mixtral / Qwen2-MoE, see MoeSpec) over a packed batch,
// with work proportional to the active parameters: route every token (router Linear, softmax,
// top-k), group the (token, slot) pairs by expert, run ONE gate/up/down matmul chain per expert
// over just its tokens on the shard that holds it, and combine the slots back in token order
// (Σ_j weight_j · y_j, j in routing order — the same for any shard count). Qwen2-MoE's shared
// expert is added with its sigmoid gate. Experts without tokens are never read, so a decode step
// reads only the selected experts' weights. Counts routed tokens per expert and per shard.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/loader/weight_store.h"
#include "engine/model_config.h"
#include "engine/moe/expert_shards.h"
#include "engine/moe/moe_router.h"
#include "kernels/backend.h"

namespace attnserve {

struct ExpertWeights {
  F32Tensor gate, up;  // f32[intermediate, hidden]
  F32Tensor down;      // f32[hidden, intermediate]
};

struct MoeWeights {
  F32Tensor router;                    // f32[num_experts, hidden]
  std::vector<ExpertWeights> experts;  // [num_experts]
  ExpertWeights shared;                // Qwen2-MoE shared expert (empty when none)
  F32Tensor shared_gate;               // f32[1, hidden]
};

// Cumulative routing counts (engine thread).
struct MoeLoad {
  std::vector<std::vector<int64_t>> expert_tokens;  // [layer][expert]: (token, slot) pairs routed
  std::vector<int64_t> shard_tokens;                // [shard]: pairs computed, all layers
};

class MoeBlock {
 public:
  // h f32[T, hidden] (post-attention-normed) -> out f32[T, hidden] (overwritten).
  void Forward(const MoeSpec& spec, const MoeWeights& w, int64_t hidden, const float* h, int64_t T,
               Backend& backend, ExpertShards& shards, std::vector<int64_t>& expert_tokens,
               std::vector<int64_t>& shard_tokens, float* out);

 private:
  struct ShardScratch {
    std::vector<float> x, gate, up, y;  // f32[n, hidden], f32[n, I] x2, f32[n, hidden]
  };
  std::vector<float> logits_;          // f32[T, E]
  RoutingTable routing_;
  std::vector<std::vector<int32_t>> slots_of_expert_;  // [expert] -> slots t*k + j
  std::vector<float> y_slots_;         // f32[T*k, hidden]
  std::vector<ShardScratch> scratch_;  // [shard]
  std::vector<float> shared_gate_, shared_up_, shared_out_, shared_logit_;
};

}  // namespace attnserve

// Folder engine/moe/: Mixture-of-Experts — routing, the expert MLP block, shards (workers),
// placement and load tracking. Includes engine/config/, engine/loader/, engine/request/ (the
// observer).
//
// MoeBlock: one Mixture-of-Experts MLP (Mixtral / Qwen2-MoE, see MoeSpec) over a packed batch,
// with work proportional to the active parameters: route every token (router Linear, softmax,
// top-k), group the (token, slot) pairs by expert, run ONE gate/up/down matmul chain per expert
// over just its tokens on the shard that holds it, and combine the slots back in token order
// (Σ_j weight_j · y_j, j in routing order — the same for any shard count). Qwen2-MoE's shared
// expert is added with its sigmoid gate. Experts without tokens are never read, so a decode step
// reads only the selected experts' weights. Counts routed tokens per expert and per shard.
// With one shard and many used experts (>= 8 per thread, e.g. 64 small experts) the experts are
// spread over the OpenMP team instead — each on one thread, largest first, dynamically; experts
// holding more than 1/threads of the step's rows still run on all threads — which avoids four
// fork/joins per small expert. Per-expert arithmetic is the same, so results are bitwise equal.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine/moe/expert_shards.h"
#include "engine/moe/moe_router.h"
#include "kernels/backend.h"

namespace attnserve {

struct ExpertWeights {
  WeightTensor gate, up;  // [intermediate, hidden], weight dtype
  WeightTensor down;      // [hidden, intermediate], weight dtype
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
  // Expert e over its slots on backend b: gate/up/down chain, rows written to y_slots_.
  void RunExpert(const MoeSpec& spec, const MoeWeights& w, int64_t hidden, const float* h, int32_t e,
                 Backend& b, ShardScratch& s);
  // One shard, many experts: experts spread over `threads` single-threaded backends.
  void RunExpertsSpread(const MoeSpec& spec, const MoeWeights& w, int64_t hidden, const float* h,
                        int64_t T, std::vector<int32_t>& used, Backend& b, int threads);
  std::vector<float> logits_;          // f32[T, E]
  RoutingTable routing_;
  std::vector<std::vector<int32_t>> slots_of_expert_;  // [expert] -> slots t*k + j
  std::vector<float> y_slots_;         // f32[T*k, hidden]
  std::vector<ShardScratch> scratch_;  // [shard]
  std::vector<std::unique_ptr<Backend>> single_;   // [thread]: 1-thread backends (spread path)
  std::vector<ShardScratch> thread_scratch_;       // [thread]
  std::vector<int32_t> used_;                      // experts with tokens (spread path)
  std::vector<float> shared_gate_, shared_up_, shared_out_, shared_logit_;
};

}  // namespace attnserve

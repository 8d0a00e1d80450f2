// MoE routing as transformers computes it (MixtralTopKRouter / Qwen2MoeTopKRouter): per token,
// p = softmax(router logits) in float32, the top_k experts by p (descending; ties to the lower
// expert index), and their weights p (or p / Σ_topk p when normalising).
#pragma once

#include <cstdint>
#include <vector>

namespace attnserve {

struct RoutingTable {
  int64_t num_tokens = 0;
  int64_t top_k = 0;
  std::vector<int32_t> experts;  // int32[num_tokens, top_k], by descending probability
  std::vector<float> weights;    // f32[num_tokens, top_k]
};

// logits f32[num_tokens, num_experts] -> `out` (resized).
void RouteTopK(const float* logits, int64_t num_tokens, int64_t num_experts, int64_t top_k,
               bool normalize, RoutingTable& out);

}  // namespace attnserve

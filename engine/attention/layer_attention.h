// RunLayerAttention: one layer's attention for one sequence's chunk, dispatched on the layer's
// resolved kind (softmax with a mask, Quest's select-then-attend, or linear attention over the
// recurrent state). The caller has already written the chunk's keys/values into the paged pool
// (for every kind but kLinear) and applied RoPE.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "kernels/backend.h"

namespace attnserve {

struct LayerAttentionIo {
  const float* q = nullptr;      // f32[num_q, num_heads, head_dim] (rotated)
  const float* k_new = nullptr;  // f32[num_q, kv_stride]: the chunk's keys (kLinear reads these)
  const float* v_new = nullptr;  // f32[num_q, kv_stride]
  PagedKvView kv;                // the layer's pool and the sequence's block table
  float* key_summaries = nullptr;  // kQuest: f32[pool blocks, 2, kv_stride] of this layer
  float* state = nullptr;        // kLinear: the sequence's state (all layers; offset in the plan)
  float* out = nullptr;          // f32[num_q, num_heads, head_dim]
};

// `shape` describes the chunk (num_q queries at the end of num_kv positions).
// `scratch` is reused between calls (Quest's selected blocks).
void RunLayerAttention(Backend& backend, const LayerAttention& layer, const AttentionShape& shape,
                       const LayerAttentionIo& io, std::vector<int32_t>& scratch);

}  // namespace attnserve

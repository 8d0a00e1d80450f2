// AttentionPlan: one request's attention, resolved per layer from its AttentionChoice and the
// model config by the registry (attention_registry.h). Immutable once built and shared
// (shared_ptr<const AttentionPlan>): masks point into the plan's own global-position storage.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernels/attention_mask.h"
#include "kernels/linear_attention.h"
#include "scheduler/kv_retention.h"

namespace attnserve {

enum class MemoryKind { kPagedKv, kWindowedKv, kRecurrentState };
const char* MemoryKindName(MemoryKind kind);  // "paged_kv", "windowed_kv", "recurrent_state"

struct LayerAttention {
  // kNone: the layer has no attention (a Mamba / Mamba-2 mixer with its own recurrent state).
  enum class Kind { kSoftmax, kQuest, kLinear, kNone };
  Kind kind = Kind::kSoftmax;
  std::string backend = "full";  // registry name, for reporting
  MemoryKind memory = MemoryKind::kPagedKv;
  AttentionMask mask;            // kSoftmax (kQuest builds a kBlockList mask per step)
  int64_t quest_top_k = 0;       // kQuest: blocks per (query, head)
  int64_t quest_window = 0;      // kQuest: local window (tokens)
  FeatureMap feature_map = FeatureMap::kEluPlusOne;  // kLinear
  int64_t num_features = 0;      // kLinear: m
  std::vector<float> projection; // kLinear FAVOR+: f32[num_features, head_dim]
  int64_t state_offset = 0;      // kLinear: float offset of this layer's state in the sequence state
};

struct AttentionPlan {
  std::string description;            // canonical choice, e.g. "bigbird:block_size=64,..." or "" (model's own)
  std::vector<LayerAttention> layers;  // one per decoder layer
  std::vector<int32_t> global_positions;  // storage behind Longformer masks, ascending
  int64_t state_floats = 0;           // recurrent state per sequence (all linear layers)
  KvRetention retention;

  AttentionPlan() = default;
  AttentionPlan(const AttentionPlan&) = delete;
  AttentionPlan& operator=(const AttentionPlan&) = delete;
};

}  // namespace attnserve

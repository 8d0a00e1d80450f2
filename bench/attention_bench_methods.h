// The attention benchmark's rows that are not one softmax mask (bench/bench_attention.cc):
//   quest       per-block key min/max summaries, top-k block selection per (query, head), then
//               attention over the selected blocks + a local window (what the engine runs per step:
//               UpdateKeySummaries for the new positions, QuestSelect, PagedAttention kBlockList)
//   performer / elu_linear   causal linear attention over a recurrent state (no KV cache read)
// Each method attends queries [c0, c0 + m) of a sequence; prefill is c0 = 0, m = n; decode is
// c0 = n - 1, m = 1 (for linear attention, decode cost does not depend on n).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "nlohmann/json.hpp"

namespace attnserve::bench {

struct MethodLayer {
  int64_t heads, kv_heads, head_dim, kv_stride, block_size;
  float scale;
};

class AttentionMethod {
 public:
  virtual ~AttentionMethod() = default;
  // Once per context, untimed: `pool` lists every block of the K/V pools (identity table).
  virtual void Prepare(Backend& cpu, const MethodLayer& layer, const PagedKvView& pool,
                       int64_t pool_blocks) = 0;
  // q f32[m, heads, head_dim]; view: the sequence's block table; k, v f32[c0 + m, kv_stride]
  // contiguous copies of the same keys/values (linear methods read these); out like q.
  virtual void Attend(Backend& cpu, const MethodLayer& layer, const float* q, const PagedKvView& view,
                      const float* k, const float* v, int64_t c0, int64_t m, float* out) = 0;
  // Bytes a decode step at context n reads from its memory (KV rows / summaries / state).
  virtual double DecodeBytes(const MethodLayer& layer, int64_t n) const = 0;
};

std::unique_ptr<AttentionMethod> MakeQuestMethod(int64_t top_k_blocks, int64_t window);
std::unique_ptr<AttentionMethod> MakeLinearMethod(FeatureMap map, int64_t num_features);

// Times prefill (all n queries), chunked prefill (--chunk queries at a time) and decode (the
// last query; block tables rotate so K/V come from DRAM) of `method` at context n.
//   q f32[n, heads, head_dim]; k_pool, v_pool f32[pool blocks, block_size, kv_stride];
//   tables: block tables of n positions into the pools (tables[0] for prefill).
nlohmann::json RunMethodRow(Backend& cpu, AttentionMethod& method, const std::string& name,
                            const MethodLayer& layer, int64_t n, int64_t chunk, int reps,
                            int decode_reps, const std::vector<float>& q,
                            const std::vector<float>& k_pool, const std::vector<float>& v_pool,
                            const std::vector<std::vector<int32_t>>& tables, double bandwidth_gbs);

}  // namespace attnserve::bench

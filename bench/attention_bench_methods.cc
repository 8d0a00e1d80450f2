// Quest and linear-attention rows of the attention benchmark (see attention_bench_methods.h).
#include "bench/attention_bench_methods.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "bench/bench_timing.h"

namespace attnserve::bench {
namespace {

class QuestMethod final : public AttentionMethod {
 public:
  QuestMethod(int64_t top_k, int64_t window) : top_k_(top_k), window_(window) {}

  void Prepare(Backend& cpu, const MethodLayer& layer, const PagedKvView& pool, int64_t pool_blocks) override {
    summaries_.assign(pool_blocks * 2 * layer.kv_stride, 0.0f);
    cpu.UpdateKeySummaries(pool, layer.kv_stride, 0, pool_blocks * layer.block_size, summaries_.data());
  }

  void Attend(Backend& cpu, const MethodLayer& L, const float* q, const PagedKvView& view, const float*,
              const float*, int64_t c0, int64_t m, float* out) override {
    const AttentionShape shape{m, c0 + m, L.heads, L.kv_heads, L.head_dim, L.kv_stride, L.scale};
    cpu.UpdateKeySummaries(view, L.kv_stride, c0, m, summaries_.data());
    selected_.resize(m * L.heads * top_k_);
    cpu.QuestSelect(q, view, summaries_.data(), shape, top_k_, window_, selected_.data());
    AttentionMask mask;
    mask.kind = MaskKind::kBlockList;
    mask.window = window_;
    mask.selected_blocks = selected_.data();
    mask.num_selected = top_k_;
    mask.select_block = view.block_size;
    cpu.PagedAttention(q, view, shape, mask, out);
  }

  double DecodeBytes(const MethodLayer& L, int64_t n) const override {
    const double summaries = double((n + L.block_size - 1) / L.block_size) * 2 * L.kv_stride * 4;
    const double keys = double(std::min(n, top_k_ * L.block_size + window_));
    return summaries + keys * L.kv_stride * 4 * 2;
  }

 private:
  int64_t top_k_, window_;
  std::vector<float> summaries_;   // f32[pool blocks, 2, kv_stride]
  std::vector<int32_t> selected_;  // int32[m, heads, top_k]
};

class LinearMethod final : public AttentionMethod {
 public:
  LinearMethod(FeatureMap map, int64_t m) : map_(map), m_(m) {}

  void Prepare(Backend&, const MethodLayer& L, const PagedKvView&, int64_t) override {
    if (map_ == FeatureMap::kFavorPositive) {
      projection_.resize(m_ * L.head_dim);
      MakeFavorProjection(m_, L.head_dim, 1234, projection_.data());
    }
    state_.resize(LinearStateFloats(L.kv_heads, m_, L.head_dim));
  }

  void Attend(Backend& cpu, const MethodLayer& L, const float* q, const PagedKvView&, const float* k,
              const float* v, int64_t c0, int64_t m, float* out) override {
    if (c0 == 0) LinearStateInit(state_.data(), L.kv_heads, m_, L.head_dim);
    LinearAttentionShape s;
    s.num_tokens = m;
    s.num_heads = L.heads;
    s.num_kv_heads = L.kv_heads;
    s.head_dim = L.head_dim;
    s.kv_stride = L.kv_stride;
    s.scale = L.scale;
    s.feature_map = map_;
    s.num_features = m_;
    s.projection = projection_.empty() ? nullptr : projection_.data();
    cpu.LinearAttention(q, k + c0 * L.kv_stride, v + c0 * L.kv_stride, s, state_.data(), out);
  }

  double DecodeBytes(const MethodLayer& L, int64_t) const override {
    return double(LinearStateFloats(L.kv_heads, m_, L.head_dim)) * 4;
  }

 private:
  FeatureMap map_;
  int64_t m_;
  std::vector<float> projection_;  // f32[m, head_dim] (FAVOR+)
  std::vector<float> state_;
};

}  // namespace

std::unique_ptr<AttentionMethod> MakeQuestMethod(int64_t top_k_blocks, int64_t window) {
  return std::make_unique<QuestMethod>(top_k_blocks, window);
}

std::unique_ptr<AttentionMethod> MakeLinearMethod(FeatureMap map, int64_t num_features) {
  return std::make_unique<LinearMethod>(map, num_features);
}

nlohmann::json RunMethodRow(Backend& cpu, AttentionMethod& method, const std::string& name,
                            const MethodLayer& L, int64_t n, int64_t chunk, int reps, int decode_reps,
                            const std::vector<float>& q, const std::vector<float>& k_pool,
                            const std::vector<float>& v_pool,
                            const std::vector<std::vector<int32_t>>& tables, double bandwidth_gbs) {
  const int64_t block_floats = L.block_size * L.kv_stride;
  const int64_t pool_blocks = static_cast<int64_t>(k_pool.size()) / block_floats;
  std::vector<int32_t> identity(pool_blocks);
  std::iota(identity.begin(), identity.end(), 0);
  method.Prepare(cpu, L, {k_pool.data(), v_pool.data(), identity.data(), L.block_size}, pool_blocks);
  // Contiguous copies of the sequence's keys/values (tables[0]) for the linear methods.
  std::vector<float> k(n * L.kv_stride), v(n * L.kv_stride), out(q.size());
  for (int64_t t = 0; t < n; ++t) {
    const int64_t src = (tables[0][t / L.block_size] * L.block_size + t % L.block_size) * L.kv_stride;
    std::copy_n(&k_pool[src], L.kv_stride, &k[t * L.kv_stride]);
    std::copy_n(&v_pool[src], L.kv_stride, &v[t * L.kv_stride]);
  }
  const PagedKvView view{k_pool.data(), v_pool.data(), tables[0].data(), L.block_size};
  const int64_t q_row = L.heads * L.head_dim;
  nlohmann::json r = {{"mask", name}, {"n", n}};
  r["prefill_s"] = MinTime(reps, [&] { method.Attend(cpu, L, q.data(), view, k.data(), v.data(), 0, n, out.data()); });
  r["chunked_prefill_s"] = MinTime(reps, [&] {
    for (int64_t c0 = 0; c0 < n; c0 += chunk) {
      const int64_t m = std::min(chunk, n - c0);
      method.Attend(cpu, L, q.data() + c0 * q_row, view, k.data(), v.data(), c0, m, out.data() + c0 * q_row);
    }
  });
  double t_decode = std::numeric_limits<double>::infinity();
  for (int s = 0; s < decode_reps; ++s) {
    const PagedKvView rotated{k_pool.data(), v_pool.data(), tables[s % tables.size()].data(), L.block_size};
    const auto t0 = Clock::now();
    method.Attend(cpu, L, q.data() + (n - 1) * q_row, rotated, k.data(), v.data(), n - 1, 1, out.data());
    t_decode = std::min(t_decode, Seconds(t0));
  }
  r["decode_s"] = t_decode;
  const double bytes = method.DecodeBytes(L, n);
  r["decode_kv_bytes"] = bytes;
  r["decode_gbs"] = bytes / t_decode * 1e-9;
  r["decode_frac_bw"] = bytes / t_decode * 1e-9 / bandwidth_gbs;
  return r;
}

}  // namespace attnserve::bench

// Naive reference of the Quest ops (Backend::UpdateKeySummaries / Backend::QuestSelect): per-block
// key min/max summaries, and the top-k blocks by the upper bound Σ_d max(q_d·min_d, q_d·max_d)
// computed in double. Written for clarity; the CPU kernels (kernels/cpu/quest.cc) are tested
// against it.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include "kernels/ref/reference_ops.h"

namespace attnserve::ref {

// kv.k_pool f32[pool blocks * block_size, kv_stride]; summaries f32[pool blocks, 2, kv_stride].
void UpdateKeySummaries(const PagedKvView& kv, int64_t kv_stride, int64_t first_pos,
                        int64_t num_pos, float* summaries) {
  if (num_pos <= 0) return;
  const int64_t bs = kv.block_size, end = first_pos + num_pos;  // positions written: [0, end)
  for (int64_t b = first_pos / bs; b <= (end - 1) / bs; ++b) {
    const int64_t phys = kv.block_table[b];
    if (phys < 0) continue;  // inconsistent caller: nothing to summarise
    float* mins = summaries + phys * 2 * kv_stride;
    float* maxs = mins + kv_stride;
    for (int64_t c = 0; c < kv_stride; ++c) {
      mins[c] = std::numeric_limits<float>::infinity();
      maxs[c] = -std::numeric_limits<float>::infinity();
    }
    for (int64_t t = b * bs; t < std::min((b + 1) * bs, end); ++t) {
      const float* key = kv.k_pool + (phys * bs + t % bs) * kv_stride;
      for (int64_t c = 0; c < kv_stride; ++c) {
        mins[c] = std::min(mins[c], key[c]);
        maxs[c] = std::max(maxs[c], key[c]);
      }
    }
  }
}

// q f32[num_q, num_heads, head_dim]; summaries f32[pool blocks, 2, kv_stride];
// selected int32[num_q, num_heads, top_k].
void QuestSelect(const float* q, const PagedKvView& kv, const float* summaries,
                 const AttentionShape& shape, int64_t top_k, int64_t window, int32_t* selected) {
  if (top_k <= 0) return;
  const int64_t bs = kv.block_size, head_dim = shape.head_dim, stride = shape.kv_stride;
  const int64_t group = shape.num_heads / shape.num_kv_heads;
  for (int64_t i = 0; i < shape.num_q; ++i) {
    const int64_t p = shape.num_kv - shape.num_q + i;
    for (int64_t h = 0; h < shape.num_heads; ++h) {
      const float* qh = q + (i * shape.num_heads + h) * head_dim;
      const int64_t col = (h / group) * head_dim;
      // Candidates: blocks holding a key <= p - window, i.e. b * bs <= p - window (window < 0
      // counts as 0: no block past the last key).
      std::vector<std::pair<double, int64_t>> scored;  // (bound, logical block)
      for (int64_t b = 0; b * bs <= p - std::max<int64_t>(window, 0); ++b) {
        const int64_t phys = kv.block_table[b];
        if (phys < 0) continue;
        const float* mins = summaries + phys * 2 * stride + col;
        const float* maxs = mins + stride;
        double bound = 0.0;
        for (int64_t d = 0; d < head_dim; ++d) {
          bound += std::max(double(qh[d]) * double(mins[d]), double(qh[d]) * double(maxs[d]));
        }
        if (std::isnan(bound)) bound = -std::numeric_limits<double>::infinity();  // ranks last
        scored.emplace_back(bound, b);
      }
      // Largest bound first; ties to the lower block index.
      std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      const int64_t count = std::min<int64_t>(top_k, int64_t(scored.size()));
      std::vector<int64_t> chosen;
      for (int64_t j = 0; j < count; ++j) chosen.push_back(scored[j].second);
      std::sort(chosen.begin(), chosen.end());
      int32_t* out = selected + (i * shape.num_heads + h) * top_k;
      for (int64_t j = 0; j < top_k; ++j) out[j] = j < count ? int32_t(chosen[j]) : -1;
    }
  }
}

}  // namespace attnserve::ref

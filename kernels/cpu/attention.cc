// CausalAttention for the CPU backend (see attention.h). Work item = (query i, head h); items are
// ordered query-major so consecutive items of one thread share the same K/V rows in cache, and
// scheduled dynamically because causal rows differ in length (query i sees num_kv-num_q+i+1 keys).
#include "kernels/cpu/attention.h"

#include <omp.h>

#include <algorithm>
#include <vector>

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/vec_math.h"

namespace attnserve::cpu {

void PagedAttention(int num_threads, const float* q, const PagedKvView& kv,
                    const AttentionShape& shape, const AttentionMask& mask, float* out) {
  const int64_t num_q = shape.num_q, num_kv = shape.num_kv, num_heads = shape.num_heads;
  const int64_t head_dim = shape.head_dim, kv_stride = shape.kv_stride;
  const int64_t group = num_heads / shape.num_kv_heads;
  const int64_t items = num_q * num_heads;
  const int64_t bs = kv.block_size;
  // Tiny problems (one decode step of a short sequence) run on the calling thread.
  const int64_t work = items * num_kv * head_dim;
  const int threads = work < (int64_t{1} << 15) ? 1 : int(std::min<int64_t>(num_threads, items));

#pragma omp parallel num_threads(threads)
  {
    std::vector<float> probs(num_kv);         // f32[num_kv]: scores, then softmax probabilities
    std::vector<int64_t> row_offset(num_kv);  // pool offset (floats) of key/value row t
    // Keys before `lowest` are outside every query's window (their blocks need not exist).
    const bool plain = mask.kind == MaskKind::kCausal || mask.kind == MaskKind::kSlidingWindow;
    const int64_t window = mask.kind == MaskKind::kSlidingWindow ? mask.window : 0;
    const int64_t lowest = window > 0 ? std::max<int64_t>(0, num_kv - num_q - window + 1) : 0;
    for (int64_t t = lowest; t < num_kv; ++t) {
      const int32_t b = kv.block_table[t / bs];
      row_offset[t] = b < 0 ? -1 : (b * bs + t % bs) * kv_stride;
    }
    std::vector<int64_t> keys(num_kv);
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t i = item / num_heads, h = item % num_heads;
      const int64_t pos = num_kv - num_q + i;  // keys first .. pos are visible
      const int64_t first = window > 0 ? std::max<int64_t>(0, pos - window + 1) : 0;
      int64_t visible = 0;
      for (int64_t t = first; t <= pos; ++t)
        if (plain || Visible(mask, i, h, num_heads, pos, t)) keys[visible++] = row_offset[t];
      const int64_t col = (h / group) * head_dim;
      const float* qh = q + item * head_dim;
      for (int64_t j = 0; j < visible; ++j)
        probs[j] = Dot(qh, kv.k_pool + keys[j] + col, head_dim) * shape.scale;
      SoftmaxInPlace(probs.data(), visible);
      float* o = out + item * head_dim;
      std::fill(o, o + head_dim, 0.0f);
      for (int64_t j = 0; j < visible; ++j)
        Axpy(probs[j], kv.v_pool + keys[j] + col, o, head_dim);
    }
  }
}

void CausalAttention(int num_threads, const float* q, const float* k, const float* v, float* out,
                     int64_t num_q, int64_t num_kv, int64_t num_heads, int64_t num_kv_heads,
                     int64_t head_dim, int64_t kv_stride, float scale) {
  const int32_t block0 = 0;
  const PagedKvView contiguous{k, v, &block0, std::max<int64_t>(num_kv, 1)};
  PagedAttention(num_threads, q, contiguous,
                 {num_q, num_kv, num_heads, num_kv_heads, head_dim, kv_stride, scale},
                 AttentionMask{}, out);
}

}  // namespace attnserve::cpu

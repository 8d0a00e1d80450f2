// kBlockList attention, one (query, head) pair at a time (see block_list_attention.h):
//   keys = selected blocks below the window (ascending, deduplicated) + window [p - window + 1, p]
//   per chunk of <= 64 keys: s_j = q·k_j (4 keys per register tile, one reduction per 4 keys),
//   + slope·log2 e·(k_j − p) with ALiBi, online softmax in log2 units (Exp2 of
//   flash_attention_tiles.h), O = α·O + Σ_j p_j·v_j.
#include "kernels/cpu/block_list_attention.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <memory>
#include <limits>
#include <vector>

#include "kernels/cpu/flash_attention_tiles.h"
#include "kernels/cpu/vec_math.h"

namespace attnserve::cpu {
namespace {

constexpr int64_t kChunk = 64;
constexpr float kLog2e = 1.44269504088896341f;

// {hsum(a), hsum(b), hsum(c), hsum(d)}.
inline __m128 Sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 abcd = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// s[j] = q · k[j] over head_dim floats for j < count (s has room for count rounded up to 4).
void Scores(const float* q, const float* const* k, int64_t count, int64_t head_dim, float* s) {
  const int64_t tail = head_dim % 8, body = head_dim - tail;
  const __m256i mask = TailMask(tail == 0 ? 8 : tail);
  for (int64_t j = 0; j < count; j += 4) {
    const float* kr[4];
    for (int r = 0; r < 4; ++r) kr[r] = k[std::min(j + r, count - 1)];
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    for (int64_t d = 0; d < body; d += 8) {
      const __m256 qv = _mm256_loadu_ps(q + d);
      for (int r = 0; r < 4; ++r) acc[r] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kr[r] + d), acc[r]);
    }
    if (tail != 0) {
      const __m256 qv = _mm256_maskload_ps(q + body, mask);
      for (int r = 0; r < 4; ++r)
        acc[r] = _mm256_fmadd_ps(qv, _mm256_maskload_ps(kr[r] + body, mask), acc[r]);
    }
    _mm_storeu_ps(s + j, Sum4(acc[0], acc[1], acc[2], acc[3]));
  }
}

struct Scratch {
  std::vector<float> q, o;  // f32[head_dim] scaled query; f32[dim_pad] accumulator
  std::vector<int64_t> blocks;
  std::vector<std::pair<int64_t, int64_t>> spans;
  const float* k_rows[kChunk];
  const float* v_rows[kChunk];
  alignas(32) float s[kChunk + 8];
  alignas(32) float distance[kChunk + 8] = {};  // k_j − p of the chunk's keys (for ALiBi)
};

// Heap-allocated per thread (see ThreadTileWork in attention.cc: large static TLS overflows
// small-stack threads of other libraries).
Scratch& ThreadScratch() {
  thread_local std::unique_ptr<Scratch> scratch;
  if (!scratch) scratch = std::make_unique<Scratch>();
  return *scratch;
}

// Output row of query i (position p), head h.
void AttendRow(const float* q_row, const PagedKvView& kv, const AttentionShape& shape,
               const AttentionMask& mask, int64_t i, int64_t h, int64_t p, float* out_row) {
  Scratch& w = ThreadScratch();
  const int64_t head_dim = shape.head_dim, dim_pad = (head_dim + 7) / 8 * 8;
  const int64_t col = (h / (shape.num_heads / shape.num_kv_heads)) * head_dim;
  const int64_t window_begin = std::max<int64_t>(0, p - mask.window + 1), sb = mask.select_block;
  const int32_t* sel = mask.selected_blocks + (i * shape.num_heads + h) * mask.num_selected;
  w.blocks.clear();
  for (int64_t j = 0; j < mask.num_selected; ++j)
    if (sel[j] >= 0 && sel[j] * sb < window_begin) w.blocks.push_back(sel[j]);
  std::sort(w.blocks.begin(), w.blocks.end());
  w.blocks.erase(std::unique(w.blocks.begin(), w.blocks.end()), w.blocks.end());
  w.spans.clear();
  for (int64_t b : w.blocks) w.spans.push_back({b * sb, std::min((b + 1) * sb, window_begin)});
  w.spans.push_back({window_begin, p + 1});

  w.q.resize(head_dim);
  w.o.assign(dim_pad, 0.0f);
  for (int64_t d = 0; d < head_dim; ++d) w.q[d] = q_row[d] * shape.scale * kLog2e;
  const bool alibi = shape.alibi_slopes != nullptr;
  const __m256 slope = _mm256_set1_ps(alibi ? shape.alibi_slopes[h] * kLog2e : 0.0f);
  float m = kEmptyRowMax, l = 0.0f;
  int64_t count = 0;
  auto flush = [&] {
    Scores(w.q.data(), w.k_rows, count, head_dim, w.s);
    for (int64_t j = 0; alibi && j < count; j += 8) {  // lanes past count are overwritten below
      const __m256 s = _mm256_loadu_ps(w.s + j);
      _mm256_storeu_ps(w.s + j, _mm256_fmadd_ps(slope, _mm256_loadu_ps(w.distance + j), s));
    }
    std::fill(w.s + count, w.s + (count + 7) / 8 * 8, -std::numeric_limits<float>::infinity());
    __m256 mx = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < count; j += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(w.s + j));
    const float m_new = std::max(m, HorizontalMax(mx));
    const __m256 vm = _mm256_set1_ps(m_new);
    __m256 sum = _mm256_setzero_ps();
    for (int64_t j = 0; j < count; j += 8) {
      const __m256 e = Exp2(_mm256_sub_ps(_mm256_loadu_ps(w.s + j), vm));
      _mm256_storeu_ps(w.s + j, e);
      sum = _mm256_add_ps(sum, e);
    }
    const float alpha = _mm256_cvtss_f32(Exp2(_mm256_set1_ps(m - m_new)));
    l = l * alpha + HorizontalSum(sum);
    m = m_new;
    AccumulateTile(w.s, 1, w.v_rows, count, 1, head_dim, &alpha, w.o.data(), dim_pad);
    count = 0;
  };
  const int64_t bs = kv.block_size;
  for (const auto& [begin, end] : w.spans) {
    int64_t block = begin / bs, in_block = begin % bs;
    int64_t base = int64_t{kv.block_table[block]} * bs;
    for (int64_t t = begin; t < end; ++t, ++in_block) {
      if (in_block == bs) {
        base = int64_t{kv.block_table[++block]} * bs;
        in_block = 0;
      }
      const int64_t offset = (base + in_block) * shape.kv_stride + col;
      w.k_rows[count] = kv.k_pool + offset;
      w.v_rows[count] = kv.v_pool + offset;
      if (alibi) w.distance[count] = float(t - p);
      if (++count == kChunk) flush();
    }
  }
  if (count > 0) flush();
  NormalizeRow(w.o.data(), l, head_dim, out_row);
}

}  // namespace

void BlockListAttention(int num_threads, const float* q, const PagedKvView& kv,
                        const AttentionShape& shape, const AttentionMask& mask, float* out) {
  const int64_t items = shape.num_q * shape.num_heads;
  const int threads = int(std::min<int64_t>(num_threads, items));
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (threads > 1)
  for (int64_t item = 0; item < items; ++item) {
    const int64_t i = item / shape.num_heads, h = item % shape.num_heads;
    AttendRow(q + item * shape.head_dim, kv, shape, mask, i, h, shape.num_kv - shape.num_q + i,
              out + item * shape.head_dim);
  }
}

}  // namespace attnserve::cpu

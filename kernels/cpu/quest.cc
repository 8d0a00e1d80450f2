// Quest ops for the CPU backend (see quest.h and Backend::UpdateKeySummaries / QuestSelect).
//
// Summaries: one [2, kv_stride] record per PHYSICAL block (row 0 min, row 1 max of its keys):
//
//   logical block b  --block_table[b]-->  physical block P
//   keys   k_pool    rows P*bs .. P*bs+bs-1         f32[bs, kv_stride]
//   record summaries rows 2P (min), 2P+1 (max)      f32[2, kv_stride]
//
// UpdateKeySummaries recomputes the records of the blocks holding [first_pos, first_pos+num_pos)
// from their written keys (idempotent). QuestSelect works per (kv head, tile of query rows) item:
// each candidate block's record is loaded once and scored for all rows of the tile and all
// `group` query heads sharing it (UpperBounds), then each (row, head) keeps its top_k (TopK).
#include "kernels/cpu/quest.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace attnserve::cpu {
namespace {

// Below this many floats of work a call runs on the calling thread (team start-up costs more).
constexpr int64_t kMinParallelWork = int64_t{1} << 15;

// mins/maxs f32[stride] = column-wise min/max of keys f32[rows, stride] (rows >= 1).
void BlockMinMax(const float* keys, int64_t rows, int64_t stride, float* mins, float* maxs) {
  int64_t c = 0;
  for (; c + 32 <= stride; c += 32) {
    __m256 lo[4], hi[4];
    for (int u = 0; u < 4; ++u) lo[u] = hi[u] = _mm256_loadu_ps(keys + c + 8 * u);
    for (int64_t r = 1; r < rows; ++r) {
      const float* key = keys + r * stride + c;
      for (int u = 0; u < 4; ++u) {
        const __m256 x = _mm256_loadu_ps(key + 8 * u);
        lo[u] = _mm256_min_ps(lo[u], x);
        hi[u] = _mm256_max_ps(hi[u], x);
      }
    }
    for (int u = 0; u < 4; ++u) {
      _mm256_storeu_ps(mins + c + 8 * u, lo[u]);
      _mm256_storeu_ps(maxs + c + 8 * u, hi[u]);
    }
  }
  for (; c + 8 <= stride; c += 8) {
    __m256 lo = _mm256_loadu_ps(keys + c), hi = lo;
    for (int64_t r = 1; r < rows; ++r) {
      const __m256 x = _mm256_loadu_ps(keys + r * stride + c);
      lo = _mm256_min_ps(lo, x);
      hi = _mm256_max_ps(hi, x);
    }
    _mm256_storeu_ps(mins + c, lo);
    _mm256_storeu_ps(maxs + c, hi);
  }
  for (; c < stride; ++c) {
    float lo = keys[c], hi = keys[c];
    for (int64_t r = 1; r < rows; ++r) {
      lo = std::min(lo, keys[r * stride + c]);
      hi = std::max(hi, keys[r * stride + c]);
    }
    mins[c] = lo;
    maxs[c] = hi;
  }
}

// Bounds of N query heads qs[x] f32[n] against one block's key summary lo, hi f32[n]:
//   out[x] = Σ_d max(q[d]·lo[d], q[d]·hi[d]) = Σ_d q[d]·(q[d] < 0 ? lo[d] : hi[d])
// (term-wise exact since lo <= hi; blendv picks by q's sign bit, and -0·lo = 0). The summary is
// loaded once for all N heads; two accumulators per head hide the FMA latency. NaN -> -inf.
template <int N>
void UpperBounds(const float* const* qs, const float* lo, const float* hi, int64_t n, float* out) {
  __m256 acc0[N], acc1[N];
#pragma GCC unroll 4
  for (int x = 0; x < N; ++x) acc0[x] = acc1[x] = _mm256_setzero_ps();
  int64_t d = 0;
  for (; d + 16 <= n; d += 16) {
    const __m256 lo0 = _mm256_loadu_ps(lo + d), hi0 = _mm256_loadu_ps(hi + d);
    const __m256 lo1 = _mm256_loadu_ps(lo + d + 8), hi1 = _mm256_loadu_ps(hi + d + 8);
#pragma GCC unroll 4
    for (int x = 0; x < N; ++x) {
      const __m256 q0 = _mm256_loadu_ps(qs[x] + d), q1 = _mm256_loadu_ps(qs[x] + d + 8);
      acc0[x] = _mm256_fmadd_ps(q0, _mm256_blendv_ps(hi0, lo0, q0), acc0[x]);
      acc1[x] = _mm256_fmadd_ps(q1, _mm256_blendv_ps(hi1, lo1, q1), acc1[x]);
    }
  }
  for (; d + 8 <= n; d += 8) {
    const __m256 lo0 = _mm256_loadu_ps(lo + d), hi0 = _mm256_loadu_ps(hi + d);
#pragma GCC unroll 4
    for (int x = 0; x < N; ++x) {
      const __m256 q0 = _mm256_loadu_ps(qs[x] + d);
      acc0[x] = _mm256_fmadd_ps(q0, _mm256_blendv_ps(hi0, lo0, q0), acc0[x]);
    }
  }
  for (int x = 0; x < N; ++x) {
    float sum = HorizontalSum(_mm256_add_ps(acc0[x], acc1[x]));
    for (int64_t t = d; t < n; ++t) sum += qs[x][t] * (qs[x][t] < 0.0f ? lo[t] : hi[t]);
    out[x] = sum == sum ? sum : -std::numeric_limits<float>::infinity();
  }
}

// UpperBounds for count (>= 0) heads, four at a time.
void UpperBoundsAny(const float* const* qs, int64_t count, const float* lo, const float* hi,
                    int64_t n, float* out) {
  int64_t x = 0;
  for (; x + 4 <= count; x += 4) UpperBounds<4>(qs + x, lo, hi, n, out + x);
  switch (count - x) {
    case 3: UpperBounds<3>(qs + x, lo, hi, n, out + x); break;
    case 2: UpperBounds<2>(qs + x, lo, hi, n, out + x); break;
    case 1: UpperBounds<1>(qs + x, lo, hi, n, out + x); break;
    default: break;
  }
}

// A 64-bit key ordering candidates best first: the bound's bits made monotone (high half), then
// the complement of the candidate index (low half), so equal bounds rank the lower index higher.
inline uint64_t RankKey(float bound, uint32_t index) {
  if (bound == 0.0f) bound = 0.0f;  // -0 ties with +0
  uint32_t u;
  std::memcpy(&u, &bound, sizeof(u));
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return (uint64_t{u} << 32) | uint64_t{~index};
}

// Writes out int32[top_k] = the top_k of blocks int32[n] by bounds f32[n] (ties to the lower
// index), ascending, -1 padded. keys is scratch.
void TopK(const float* bounds, const int32_t* blocks, int64_t n, int64_t top_k,
          std::vector<uint64_t>& keys, int32_t* out) {
  if (n <= top_k) {
    std::copy(blocks, blocks + n, out);
    std::fill(out + n, out + top_k, -1);
    return;
  }
  keys.resize(n);
  for (int64_t j = 0; j < n; ++j) keys[j] = RankKey(bounds[j], uint32_t(j));
  std::nth_element(keys.begin(), keys.begin() + top_k, keys.end(), std::greater<uint64_t>());
  for (int64_t j = 0; j < top_k; ++j) out[j] = blocks[~uint32_t(keys[j])];
  std::sort(out, out + top_k);  // candidate order = block order
}

// Summary records are 2 * kv_stride floats apart (a new page per block for large kv_stride), so
// the hardware prefetcher does not follow them: fetch the record kPrefetchAhead blocks ahead.
constexpr int64_t kPrefetchAhead = 2;

// Prefetches the lo and hi halves lo f32[n], lo + stride f32[n] of one summary record.
inline void Prefetch(const float* lo, int64_t stride, int64_t n) {
  for (int64_t d = 0; d < n; d += 16) {
    _mm_prefetch(reinterpret_cast<const char*>(lo + d), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(lo + stride + d), _MM_HINT_T0);
  }
}

// Query rows scored together against each loaded summary record (reuse from L1).
constexpr int64_t kRowTile = 4;

// Per-thread buffers of QuestSelect, sized for the longest candidate list n.
struct SelectScratch {
  std::vector<int32_t> blocks;      // int32[n]: logical candidate blocks, ascending
  std::vector<int64_t> phys;        // int64[n]: their physical block numbers
  std::vector<float> bounds;        // f32[kRowTile * group, n]: bounds of head x = r * group + hh
  std::vector<const float*> qs;     // [kRowTile * group]: f32[head_dim] query of head x
  std::vector<float> block_bounds;  // f32[kRowTile * group]: one block's bounds
  std::vector<uint64_t> keys;       // u64[n]: TopK scratch
};

}  // namespace

// kv.k_pool f32[pool blocks * block_size, kv_stride]; summaries f32[pool blocks, 2, kv_stride].
void UpdateKeySummaries(int num_threads, const PagedKvView& kv, int64_t kv_stride,
                        int64_t first_pos, int64_t num_pos, float* summaries) {
  if (num_pos <= 0) return;
  const int64_t bs = kv.block_size, end = first_pos + num_pos;  // positions written: [0, end)
  const int64_t first_block = first_pos / bs, num_blocks = (end - 1) / bs - first_block + 1;
  const int64_t min_chunk = std::max<int64_t>(1, kMinParallelWork / (bs * kv_stride));
  ParallelRanges(num_threads, num_blocks, 1, min_chunk, [&](int64_t begin, int64_t stop) {
    for (int64_t b = first_block + begin; b < first_block + stop; ++b) {
      const int64_t phys = kv.block_table[b];
      if (phys < 0) continue;  // inconsistent caller; never touch pool row -1
      const int64_t rows = std::min((b + 1) * bs, end) - b * bs;
      float* mins = summaries + phys * 2 * kv_stride;
      BlockMinMax(kv.k_pool + phys * bs * kv_stride, rows, kv_stride, mins, mins + kv_stride);
    }
  });
}

// q f32[num_q, num_heads, head_dim]; summaries f32[pool blocks, 2, kv_stride];
// selected int32[num_q, num_heads, top_k].
//
// Work item = (kv head g, tile of kRowTile query rows), kv-head-major so consecutive items read
// the same summary columns. Within an item, candidate block j is scored for every row that has
// it as a candidate (rows are ascending, so each row's candidates are a prefix) and every head
// of the group, then each (row, head) keeps its top_k.
void QuestSelect(int num_threads, const float* q, const PagedKvView& kv, const float* summaries,
                 const AttentionShape& shape, int64_t top_k, int64_t window, int32_t* selected) {
  if (top_k <= 0 || shape.num_q <= 0) return;
  const int64_t bs = kv.block_size, head_dim = shape.head_dim, stride = shape.kv_stride;
  const int64_t num_q = shape.num_q, num_heads = shape.num_heads, num_kv_heads = shape.num_kv_heads;
  const int64_t group = num_heads / num_kv_heads;
  // Candidates of the query at position p: blocks 0 .. (p - window) / bs (none if p < window).
  // (window < 0 is treated as 0 so no block past the last key is ever read.)
  const int64_t local = std::max<int64_t>(window, 0);
  auto num_candidates = [&](int64_t row) {
    const int64_t p = shape.num_kv - num_q + row;
    return p < local ? int64_t{0} : (p - local) / bs + 1;
  };
  const int64_t max_candidates = num_candidates(num_q - 1);
  const int64_t num_tiles = (num_q + kRowTile - 1) / kRowTile;
  const int64_t items = num_kv_heads * num_tiles;
  const int64_t work_per_item =
      std::max<int64_t>(1, std::min(num_q, kRowTile) * group * max_candidates * head_dim);
  const int64_t min_chunk = std::max<int64_t>(1, kMinParallelWork / work_per_item);

  ParallelRanges(num_threads, items, 1, min_chunk, [&](int64_t begin, int64_t stop) {
    SelectScratch s;
    s.blocks.reserve(max_candidates);
    s.phys.reserve(max_candidates);
    s.bounds.resize(kRowTile * group * max_candidates);
    s.qs.resize(kRowTile * group);
    s.block_bounds.resize(kRowTile * group);
    for (int64_t item = begin; item < stop; ++item) {
      const int64_t g = item / num_tiles, row0 = (item % num_tiles) * kRowTile;
      const int64_t rows = std::min(kRowTile, num_q - row0);
      const int64_t heads = rows * group;  // (row r, head hh) -> x = r * group + hh
      s.blocks.clear();
      s.phys.clear();
      for (int64_t b = 0; b < num_candidates(row0 + rows - 1); ++b) {
        if (kv.block_table[b] < 0) continue;  // unmapped: never read
        s.blocks.push_back(int32_t(b));
        s.phys.push_back(kv.block_table[b]);
      }
      const int64_t n = int64_t(s.blocks.size());
      int64_t row_n[kRowTile];  // candidates of each row: a prefix of blocks, non-decreasing
      for (int64_t r = 0; r < rows; ++r) {
        row_n[r] = std::lower_bound(s.blocks.begin(), s.blocks.end(), num_candidates(row0 + r)) -
                   s.blocks.begin();
        for (int64_t hh = 0; hh < group; ++hh)
          s.qs[r * group + hh] = q + ((row0 + r) * num_heads + g * group + hh) * head_dim;
      }
      int64_t first_row = 0;  // rows before it have fewer than j + 1 candidates
      for (int64_t j = 0; j < n; ++j) {
        if (j + kPrefetchAhead < n) {
          const int64_t ahead = s.phys[j + kPrefetchAhead];
          Prefetch(summaries + ahead * 2 * stride + g * head_dim, stride, head_dim);
        }
        while (row_n[first_row] <= j) ++first_row;
        const int64_t x0 = first_row * group;
        const float* lo = summaries + s.phys[j] * 2 * stride + g * head_dim;
        UpperBoundsAny(s.qs.data() + x0, heads - x0, lo, lo + stride, head_dim,
                       s.block_bounds.data());
        for (int64_t x = x0; x < heads; ++x) s.bounds[x * n + j] = s.block_bounds[x - x0];
      }
      for (int64_t x = 0; x < heads; ++x) {
        const int64_t r = x / group, h = g * group + x % group;
        int32_t* out = selected + ((row0 + r) * num_heads + h) * top_k;
        TopK(s.bounds.data() + x * n, s.blocks.data(), row_n[r], top_k, s.keys, out);
      }
    }
  });
}

}  // namespace attnserve::cpu

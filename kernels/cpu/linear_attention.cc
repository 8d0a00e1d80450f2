// Causal linear attention on the CPU (see kernels/linear_attention.h for the math and the state).
//
// One task per kv head (OpenMP over kv heads); a task walks the call's tokens in chunks of
// kChunk and treats the G = num_heads/num_kv_heads query heads of its group as extra rows, so
// every pass over the state serves G·C query rows:
//
//   rows r = t·G + hg  (token t of the chunk, query head hg of the group)
//   Φk f32[C, m]   = φ(k'_t) · e^-c          c = running max of log φ(k), state rescaled when it grows
//   Φq f32[G·C, m] = φ(q'_r) · e^-max         (FAVOR+: per-row max of W q' subtracted; cancels)
//   A  f32[G·C, C] = Φq Φkᵀ, zero where j > t                       (intra-chunk, causal)
//   out = (Φq S + A V) / (Φq z + A 1)                                 (S, z: state before the chunk)
//   S += Φkᵀ V,  z += Σ_t Φk
//
// A decode step is the same walk with C = 1: one m×d mat-vec for the G query rows together and
// one rank-1 update of S. Products of the form y = x·wᵀ (W [k'; q'] in one call, Φq Φkᵀ) use the
// packed GEMM, or the dot-tile kernel for a handful of rows (kernels/cpu/gemm.h); the products
// against S and V (y += a·b with b's rows along head_dim) use AccumulateRows below, a register
// tile of 12 accumulators (6×16, or 3×32 for few rows).
//
// Measured (bench of 12 heads / 4 kv heads, head_dim 64, one thread, CPU time): prefill of a 4k
// chunk 3.7 µs/token (ELU+1), 5.4 (FAVOR+ m = 64), 16.5 (m = 256); decode 3.4 / 5.7 / 22.6 µs.
#include "kernels/cpu/linear_attention.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/accumulate_rows.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace attnserve::cpu {
namespace {

// Tokens per intra-chunk block: the masked C×C score tile costs C·m per query row against the
// m·d of reading the state, so C well below d keeps it a minor term; per-chunk fixed costs grow
// as C shrinks. Measured best at 16 (4k prefill, m = 256: C = 8 / 16 / 32 / 64 -> 18.4 / 16.5 /
// 17.6 / 19.7 µs per token).
constexpr int64_t kChunk = 16;

using accum::AccumulateRows;
using accum::TailMask;

// dst f32[rows, cols] (contiguous) = src rows (stride src_stride) · factor.
void CopyScaled(const float* src, int64_t src_stride, int64_t rows, int64_t cols, float factor,
                float* dst) {
  const __m256 f = _mm256_set1_ps(factor);
  for (int64_t r = 0; r < rows; ++r, src += src_stride, dst += cols) {
    int64_t i = 0;
    for (; i + 8 <= cols; i += 8) _mm256_storeu_ps(dst + i, _mm256_mul_ps(f, _mm256_loadu_ps(src + i)));
    for (; i < cols; ++i) dst[i] = src[i] * factor;
  }
}

// x f32[n] = elu(x) + 1 in place.
void EluPlusOneInPlace(float* x, int64_t n) {
  const __m256 zero = _mm256_setzero_ps(), one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 y = _mm256_loadu_ps(x + i);
    const __m256 neg = Exp(_mm256_min_ps(y, zero));
    _mm256_storeu_ps(x + i, _mm256_blendv_ps(neg, _mm256_add_ps(y, one), _mm256_cmp_ps(y, zero, _CMP_GT_OQ)));
  }
  for (; i < n; ++i) x[i] = x[i] > 0.0f ? x[i] + 1.0f : std::exp(x[i]);
}

// x f32[n] = exp(x - shift) in place.
void ExpShiftedInPlace(float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, Exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), s)));
  for (; i < n; ++i) x[i] = std::exp(x[i] - shift);
}

float Max(const float* x, int64_t n) {
  __m256 acc = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc = _mm256_max_ps(acc, _mm256_loadu_ps(x + i));
  float best = HorizontalMax(acc);
  for (; i < n; ++i) best = std::max(best, x[i]);
  return best;
}

// Per-thread buffers, grown on demand and kept across calls (decode allocates nothing).
// Keys and queries share one projection: rows 0..C-1 are the chunk's keys, rows C.. its queries.
struct Scratch {
  std::vector<float> x_rows;   // f32[C + G·C, d]  k'·sqrt(scale) | q'·sqrt(scale) (rows C + t·G + hg)
  std::vector<float> phi;      // f32[C + G·C, m]  Φk (· e^-c) | Φq (· e^-max per row)
  std::vector<float> phi_k_t;  // f32[m, C]        Φk transposed, for the state update
  std::vector<float> key_off;  // f32[C]           |k'|²/2 + log(m)/2 per key (FAVOR+)
  std::vector<float> scores;   // f32[G·C, C]      Φq Φkᵀ, causally masked
  std::vector<float> num;      // f32[G·C, d]

  void Reserve(int64_t c, int64_t g, int64_t m, int64_t d) {
    auto grow = [](std::vector<float>& v, int64_t n) {
      if (int64_t(v.size()) < n) v.resize(n);
    };
    grow(x_rows, (g + 1) * c * d), grow(phi, (g + 1) * c * m), grow(phi_k_t, m * c);
    grow(key_off, c), grow(scores, g * c * c), grow(num, g * c * d);
  }
};

// y f32[rows, n] = x f32[rows, k] · w f32[n, k]ᵀ on this thread: the packed 6×16 GEMM once there
// are enough rows to fill its tiles, the unpacked dot-tile kernel below that (decode).
void MatMulTransposed(const float* x, const float* w, float* y, int64_t rows, int64_t n, int64_t k) {
  if (rows >= 12) {
    GemmAvx2(x, w, nullptr, y, rows, n, k, n);
  } else {
    DotGemmAvx2(x, w, nullptr, y, rows, n, k, n);
  }
}

// Features of the chunk's c keys and c·G queries (scratch.phi), keys relative to the running max
// of log φ(k): raises key_log_scale and rescales S f32[m, d], z f32[m] when a larger one arrives.
// q points at token 0's head g·G (rows of num_heads·d floats), k at token 0's kv head g.
void Features(const float* q, const float* k, const LinearAttentionShape& s, int64_t c,
              float* s_state, float* z_state, float* key_log_scale, Scratch& w) {
  const int64_t m = s.num_features, d = s.head_dim, group = s.num_heads / s.num_kv_heads;
  const int64_t rows = c + c * group;
  const float root = std::sqrt(s.scale);
  float* x_rows = w.x_rows.data();
  CopyScaled(k, s.kv_stride, c, d, root, x_rows);
  // Token t's group heads are G·d contiguous floats: query rows t·G .. t·G+G-1 in one copy.
  CopyScaled(q, s.num_heads * d, c, group * d, root, x_rows + c * d);
  float* phi = w.phi.data();
  if (s.feature_map == FeatureMap::kEluPlusOne) {  // m = d
    std::copy(x_rows, x_rows + rows * d, phi);
    EluPlusOneInPlace(phi, rows * m);
    return;
  }
  MatMulTransposed(x_rows, s.projection, phi, rows, m, d);  // logits W x'

  const float log_norm = 0.5f * std::log(float(m));
  const float c_old = *key_log_scale;
  float c_new = c_old;
  for (int64_t t = 0; t < c; ++t) {
    const float* row = x_rows + t * d;
    w.key_off[t] = 0.5f * Dot(row, row, d) + log_norm;
    c_new = std::max(c_new, Max(phi + t * m, m) - w.key_off[t]);
  }
  if (c_new > c_old) {
    // exp(-inf) = 0: the first key of a sequence zeroes the (already zero) state.
    const float factor = std::exp(c_old - c_new);
    for (int64_t i = 0; i < m * d; ++i) s_state[i] *= factor;
    for (int64_t i = 0; i < m; ++i) z_state[i] *= factor;
    *key_log_scale = c_new;
  }
  for (int64_t t = 0; t < c; ++t) ExpShiftedInPlace(phi + t * m, m, w.key_off[t] + c_new);
  for (int64_t r = c; r < rows; ++r) {
    float* row = phi + r * m;
    ExpShiftedInPlace(row, m, Max(row, m));
  }
}

// One chunk of c tokens for kv head g: outputs of its G query heads, then the state update.
// q points at token 0's head g·G, k/v at token 0's kv head g, out like q.
void Chunk(const float* q, const float* k, const float* v, const LinearAttentionShape& s,
           int64_t c, float* record, float* out, Scratch& w) {
  const int64_t m = s.num_features, d = s.head_dim, group = s.num_heads / s.num_kv_heads;
  const int64_t rows = c * group, ldv = s.kv_stride;
  float* s_state = record;
  float* z_state = record + m * d;
  Features(q, k, s, c, s_state, z_state, z_state + m, w);
  const float* phi_k = w.phi.data();
  const float* phi_q = phi_k + c * m;

  // Intra-chunk scores, causal: row t·G + hg sees keys 0..t.
  float* scores = w.scores.data();
  MatMulTransposed(phi_q, phi_k, scores, rows, c, m);
  for (int64_t r = 0; r < rows; ++r) std::fill(scores + r * c + r / group + 1, scores + (r + 1) * c, 0.0f);

  // num = Φq S + A V; den = Φq z + A 1.
  float* num = w.num.data();
  std::fill(num, num + rows * d, 0.0f);
  AccumulateRows(phi_q, m, s_state, d, num, d, rows, m, d);
  AccumulateRows(scores, c, v, ldv, num, d, rows, c, d);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t t = r / group;
    float den = Dot(phi_q + r * m, z_state, m);
    for (int64_t j = 0; j <= t; ++j) den += scores[r * c + j];
    const float inv = den > 0.0f ? 1.0f / den : 0.0f;
    float* o = out + t * s.num_heads * d + (r % group) * d;
    const float* nr = num + r * d;
    for (int64_t p = 0; p < d; ++p) o[p] = nr[p] * inv;
  }

  // S += Φkᵀ V, z += Σ_t Φk.
  for (int64_t t = 0; t < c; ++t) {
    const float* row = phi_k + t * m;
    for (int64_t i = 0; i < m; ++i) w.phi_k_t[i * c + t] = row[i];
    Axpy(1.0f, row, z_state, m);
  }
  AccumulateRows(w.phi_k_t.data(), c, v, ldv, s_state, d, m, c, d);
}

}  // namespace

// q, out f32[num_tokens, num_heads, head_dim]; k, v f32[num_tokens, kv_stride];
// state f32[LinearStateFloats(num_kv_heads, num_features, head_dim)], updated in place.
void LinearAttention(int num_threads, const float* q, const float* k, const float* v,
                     const LinearAttentionShape& shape, float* state, float* out) {
  const int64_t n = shape.num_tokens, kv_heads = shape.num_kv_heads, d = shape.head_dim;
  const int64_t m = shape.num_features, group = shape.num_heads / kv_heads;
  const int64_t record = m * d + m + 1;
  if (n <= 0) return;
  // Small calls (a decode step with a tiny state) run on the calling thread.
  const int64_t work = n * shape.num_heads * m * d;
  const int threads = work < (int64_t{1} << 14) ? 1 : num_threads;
  ParallelRanges(threads, kv_heads, 1, 1, [&](int64_t begin, int64_t end) {
    thread_local Scratch scratch;
    scratch.Reserve(std::min(n, kChunk), group, m, d);
    for (int64_t g = begin; g < end; ++g) {
      for (int64_t t0 = 0; t0 < n; t0 += kChunk) {
        const int64_t c = std::min(kChunk, n - t0);
        const int64_t q_off = t0 * shape.num_heads * d + g * group * d;
        const int64_t kv_off = t0 * shape.kv_stride + g * d;
        Chunk(q + q_off, k + kv_off, v + kv_off, shape, c, state + g * record, out + q_off, scratch);
      }
    }
  });
}

}  // namespace attnserve::cpu

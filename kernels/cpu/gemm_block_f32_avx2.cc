// Exact block-dtype Linear at small m (kernels/cpu/gemm_typed.h, DotBlockF32Avx2): f32 x against
// weights in a 32-element block format, each block decoded in registers
// (kernels/quant_blocks_avx2.h) and never stored:
//   per x row i, w row r, group b:  s = Σ_j q_j · x_j  (4 FMAs over the group's 32 quants as f32,
//                                   in halves of 16 for q6_k's two scales)
//                                   acc += d · s  (+ m · Σ_j x_j for the formats with a minimum)
// which equals Σ_j (d q_j + m) x_j up to f32 rounding — no int8 rounding of x. This is the path
// of --quantize_activations=false below kInt8FusedMaxRows rows and of matrices marked
// exact_activations (the lm_head, whose logits decide greedy tokens; docs/benchmarks.md, "GGUF
// files"). A tile of NR w rows is reused by up to 4 x rows while it sits in L1.
#include <immintrin.h>

#include "kernels/cpu/gemm_typed.h"
#include "kernels/quant_blocks_avx2.h"

namespace attnserve::cpu {
namespace {

inline float Hsum(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 h = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

// The 32 quants of a block as 4 × 8 f32 lanes.
inline void QuantsToF32(__m256i q, __m256 out[4]) {
  const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  out[0] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo));
  out[1] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)));
  out[2] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi));
  out[3] = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)));
}

template <int MR, int NR, class B>
inline void Tile(const float* x, int64_t k, const unsigned char* w, size_t rb, const float* bias, float* y,
                 int64_t ldy) {
  using T = quant::Traits<B>;
  __m256 acc[MR][NR];
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_setzero_ps();
  const int64_t nb = k / kQuantBlock;
  for (int64_t b = 0; b < nb; ++b) {
    __m256 xsum[MR];
    if constexpr (T::kUnsigned) {
      for (int i = 0; i < MR; ++i) {
        const float* xb = x + i * k + b * kQuantBlock;
        xsum[i] = _mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(xb), _mm256_loadu_ps(xb + 8)),
                                _mm256_add_ps(_mm256_loadu_ps(xb + 16), _mm256_loadu_ps(xb + 24)));
      }
    }
    for (int r = 0; r < NR; ++r) {
      const quant::Group g = quant::DecodeGroup(reinterpret_cast<const B*>(w + r * rb), b);
      __m256 q[4];
      QuantsToF32(g.q, q);
      const __m256 d_lo = _mm256_set1_ps(g.scale_lo), d_hi = _mm256_set1_ps(g.scale_hi);
      for (int i = 0; i < MR; ++i) {
        const float* xb = x + i * k + b * kQuantBlock;
        const __m256 s_lo = _mm256_fmadd_ps(q[1], _mm256_loadu_ps(xb + 8), _mm256_mul_ps(q[0], _mm256_loadu_ps(xb)));
        const __m256 s_hi = _mm256_fmadd_ps(q[3], _mm256_loadu_ps(xb + 24), _mm256_mul_ps(q[2], _mm256_loadu_ps(xb + 16)));
        acc[i][r] = _mm256_fmadd_ps(d_lo, s_lo, acc[i][r]);
        acc[i][r] = _mm256_fmadd_ps(d_hi, s_hi, acc[i][r]);
        if constexpr (T::kUnsigned) acc[i][r] = _mm256_fmadd_ps(_mm256_set1_ps(g.min), xsum[i], acc[i][r]);
      }
    }
  }
  for (int i = 0; i < MR; ++i)
    for (int r = 0; r < NR; ++r) y[i * ldy + r] = Hsum(acc[i][r]) + (bias ? bias[r] : 0.0f);
}

// x rows in tiles of up to 4 against NR w rows.
template <int NR, class B>
void Rows(const float* x, int64_t m, int64_t k, const unsigned char* w, size_t rb, const float* bias, float* y,
          int64_t ldy) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) Tile<4, NR, B>(x + i * k, k, w, rb, bias, y + i * ldy, ldy);
  switch (m - i) {
    case 3: Tile<3, NR, B>(x + i * k, k, w, rb, bias, y + i * ldy, ldy); break;
    case 2: Tile<2, NR, B>(x + i * k, k, w, rb, bias, y + i * ldy, ldy); break;
    case 1: Tile<1, NR, B>(x + i * k, k, w, rb, bias, y + i * ldy, ldy); break;
    default: break;
  }
}

template <class B>
void Panel(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m, int64_t ldy) {
  constexpr int kNR = 2;
  const size_t rb = w.row_bytes();
  const auto* base = static_cast<const unsigned char*>(w.data);
  int64_t j = 0;
  for (; j + kNR <= w.rows; j += kNR) Rows<kNR, B>(x, m, w.cols, base + j * rb, rb, bias ? bias + j : nullptr, y + j, ldy);
  for (; j < w.rows; ++j) Rows<1, B>(x, m, w.cols, base + j * rb, rb, bias ? bias + j : nullptr, y + j, ldy);
}

}  // namespace

void DotBlockF32Avx2(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m, int64_t ldy) {
  switch (w.dtype) {
    case DType::kQ8_0: return Panel<BlockQ8_0>(x, w, bias, y, m, ldy);
    case DType::kQ4_0: return Panel<BlockQ4_0>(x, w, bias, y, m, ldy);
    case DType::kQ4_1: return Panel<BlockQ4_1>(x, w, bias, y, m, ldy);
    case DType::kQ5_0: return Panel<BlockQ5_0>(x, w, bias, y, m, ldy);
    case DType::kQ5_1: return Panel<BlockQ5_1>(x, w, bias, y, m, ldy);
    case DType::kQ4_K: return Panel<BlockQ4_K>(x, w, bias, y, m, ldy);
    case DType::kQ5_K: return Panel<BlockQ5_K>(x, w, bias, y, m, ldy);
    case DType::kQ6_K: return Panel<BlockQ6_K>(x, w, bias, y, m, ldy);
    default: return;
  }
}

}  // namespace attnserve::cpu

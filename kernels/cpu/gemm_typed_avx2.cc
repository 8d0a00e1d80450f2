// Fused AVX2 Linear kernels for narrow weight dtypes at small m (kernels/cpu/gemm_typed.h):
//   bf16 / f16: each k step of 8 widens NR w vectors (bf16: 16-bit shift; f16: F16C) and issues
//               MR·NR FMAs against MR f32 x rows — the f32 dot-tile scheme of gemm_dot_avx2.cc
//               reading half the bytes;
//   q8_0 / q4_0 / q5_0 (signed quants) and q4_1 / q5_1 (unsigned quants with a minimum): x is
//               quantized to int8 blocks once per call (QuantizeRowsQ8); per 32-block the
//               int8·int8 dot is vpsignb + vpmaddubsw + vpmaddwd (8 int32 lanes; unsigned quants
//               skip the sign step), scaled by d_w·d_x into an f32 accumulator, plus m_w·d_x·Σx_q
//               for the formats with a minimum. Block decoding: kernels/quant_blocks_avx2.h. A tile of NR w rows stays in L1 while every x row
//               uses it, so w streams from memory once per call.
// bf16 / f16: each y element is accumulated in the f32 dot-tile kernel's order (8 lanes over k,
// zero-filled k tail, its horizontal sum), so results equal that kernel's on the widened weight
// bit for bit, whatever m, tile or thread split (batch invariance across the m regimes of
// linear_typed.cc). q8_0 / q4_0: one fixed order too, but over int8 x: a row alone and inside a
// batch are bitwise equal below kInt8FusedMaxRows; at and above it the exact widening applies.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/cpu/gemm_typed.h"
#include "kernels/dtype_convert.h"
#include "kernels/quant_blocks_avx2.h"

namespace attnserve::cpu {
namespace {

// Horizontal sum in the order of gemm_dot_avx2.cc's Sum4: ((a0+a1)+(a2+a3)) + ((a4+a5)+(a6+a7)),
// so a fused tile and the f32 dot-tile kernel on the widened weight give bitwise equal sums.
inline float Hsum(__m256 v) {
  const __m256 h = _mm256_hadd_ps(v, v);
  const __m256 hh = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(_mm_add_ps(_mm256_castps256_ps128(hh), _mm256_extractf128_ps(hh, 1)));
}

// Widening loads of 8 elements at element offset p of a row, and the scalar tail element.
struct Bf16Load {
  static __m256 Load(const unsigned char* row, int64_t p) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  static float One(const unsigned char* row, int64_t p) {
    uint16_t bits;
    std::memcpy(&bits, row + 2 * p, 2);
    return BF16BitsToF32(bits);
  }
};
struct F16Load {
  static __m256 Load(const unsigned char* row, int64_t p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * p)));
  }
  static float One(const unsigned char* row, int64_t p) {
    uint16_t bits;
    std::memcpy(&bits, row + 2 * p, 2);
    return F16BitsToF32(bits);
  }
};

// y[i*ldy + r] = x row i · w row r (+ bias[r]) for i < MR, r < NR; w rows `rb` bytes apart.
// Prefetches the same columns of the next NR rows (the next tile) once per 64-byte line.
template <int MR, int NR, class L>
inline void WideTile(const float* x, int64_t k, const unsigned char* w, size_t rb, const float* bias,
                     float* y, int64_t ldy) {
  __m256 acc[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    if ((p & 31) == 0) {
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) _mm_prefetch(reinterpret_cast<const char*>(w + (NR + r) * rb + 2 * p), _MM_HINT_T0);
    }
    __m256 wv[NR];
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) wv[r] = L::Load(w + r * rb, p);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * k + p);
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_fmadd_ps(xv, wv[r], acc[i][r]);
    }
  }
  if (p < k) {  // tail: zero-filled lanes, as the f32 kernel's masked loads
    __m256 wv[NR];
    for (int r = 0; r < NR; ++r) {
      alignas(32) float lanes[8] = {};
      for (int64_t q = p; q < k; ++q) lanes[q - p] = L::One(w + r * rb, q);
      wv[r] = _mm256_load_ps(lanes);
    }
    for (int i = 0; i < MR; ++i) {
      alignas(32) float lanes[8] = {};
      for (int64_t q = p; q < k; ++q) lanes[q - p] = x[i * k + q];
      const __m256 xv = _mm256_load_ps(lanes);
      for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_fmadd_ps(xv, wv[r], acc[i][r]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) y[i * ldy + r] = Hsum(acc[i][r]) + (bias ? bias[r] : 0.0f);
}

// All m x rows against NR w rows: tiles of 4 x rows, then the m % 4 edge.
template <int NR, class L>
void WideRows(const float* x, int64_t m, int64_t k, const unsigned char* w, size_t rb,
              const float* bias, float* y, int64_t ldy) {
  int64_t i = 0;
  for (; i + 4 <= m; i += 4) WideTile<4, NR, L>(x + i * k, k, w, rb, bias, y + i * ldy, ldy);
  switch (m - i) {
    case 3: WideTile<3, NR, L>(x + i * k, k, w, rb, bias, y + i * ldy, ldy); break;
    case 2: WideTile<2, NR, L>(x + i * k, k, w, rb, bias, y + i * ldy, ldy); break;
    case 1: WideTile<1, NR, L>(x + i * k, k, w, rb, bias, y + i * ldy, ldy); break;
    default: break;
  }
}

// m = 1: 8 w rows a tile (8 accumulators hide the FMA latency; 8 memory streams). m >= 2: 4 x
// rows × 3 w rows (12 accumulators + 3 w + 1 x = 16 registers). Edges in tiles of 1 w row.
template <class L>
void WidePanel(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m,
               int64_t ldy) {
  const int64_t n = w.rows, k = w.cols;
  const size_t rb = w.row_bytes();
  const auto* base = static_cast<const unsigned char*>(w.data);
  int64_t j = 0;
  if (m == 1) {
    for (; j + 8 <= n; j += 8) WideTile<1, 8, L>(x, k, base + j * rb, rb, bias ? bias + j : nullptr, y + j, ldy);
  } else {
    for (; j + 3 <= n; j += 3) WideRows<3, L>(x, m, k, base + j * rb, rb, bias ? bias + j : nullptr, y + j, ldy);
  }
  for (; j < n; ++j) WideRows<1, L>(x, m, k, base + j * rb, rb, bias ? bias + j : nullptr, y + j, ldy);
}

// MR x rows (from row i0) × NR w rows of block type B: each w block is loaded, unpacked and its
// sign taken once for the MR x rows (register blocking over x). Every acc[i][r] is accumulated
// over the blocks in order with the same operations whatever MR is, so a row's result does not
// depend on the rows beside it.
// Formats with a minimum (q4_1, q5_1: x = d·q + m, q unsigned) add m·dx·Σxq per block: Σxq
// comes from the same int8 x block (vpmaddubsw by ones), once per x row and block.
template <int MR, int NR, class B>
inline void QuantTile(const QuantizedRows& xq, int64_t i0, const B* const* rows, size_t rb,
                      const float* bias, float* y, int64_t ldy) {
  using T = quant::Traits<B>;
  constexpr int kGroups = quant::GroupsPerBlock<B>();
  const int64_t nb = xq.k / kQuantBlock;
  __m256 acc[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    __m256i xv[MR];
    __m256 xsum[MR];  // unsigned formats: Σ x quants in 8 lanes
    float xd[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      xv[i] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.qs + (i0 + i) * xq.k + b * kQuantBlock));
      xd[i] = xq.d[(i0 + i) * nb + b];
      if constexpr (T::kUnsigned) {
        xsum[i] = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), xv[i]), ones));
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) {
      if (i0 == 0 && b % kGroups == 0) {  // this block's bytes in the next tile
        _mm_prefetch(reinterpret_cast<const char*>(rows[r] + b / kGroups) + NR * rb, _MM_HINT_T0);
      }
      const quant::Group g = quant::DecodeGroup(rows[r], b);
      // int32 lane l of the dot covers elements 4l..4l+3: lanes 0-3 take scale_lo, 4-7 scale_hi.
      const __m256 dw = _mm256_set_m128(_mm_set1_ps(g.scale_hi), _mm_set1_ps(g.scale_lo));
      if constexpr (T::kUnsigned) {  // w in [0, 63]: vpmaddubsw takes it as the unsigned operand
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
          const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(_mm256_maddubs_epi16(g.q, xv[i]), ones));
          acc[i][r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xd[i])), dot, acc[i][r]);
          acc[i][r] = _mm256_fmadd_ps(_mm256_set1_ps(g.min * xd[i]), xsum[i], acc[i][r]);
        }
      } else {
        const __m256i aw = _mm256_sign_epi8(g.q, g.q);  // |w| as unsigned
#pragma GCC unroll 16
        for (int i = 0; i < MR; ++i) {
          const __m256i pairs = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(xv[i], g.q));  // x with w's sign
          const __m256 dot = _mm256_cvtepi32_ps(_mm256_madd_epi16(pairs, ones));
          acc[i][r] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(xd[i])), dot, acc[i][r]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) y[(i0 + i) * ldy + r] = Hsum(acc[i][r]) + (bias ? bias[r] : 0.0f);
}

// NR w rows × every x row, x rows in pairs; the tile (NR·k/32 blocks) stays in L1 across them.
template <int NR, class B>
void QuantRows(const QuantizedRows& xq, int64_t m, const unsigned char* w, size_t rb,
               const float* bias, float* y, int64_t ldy) {
  const B* rows[NR];
  for (int r = 0; r < NR; ++r) rows[r] = reinterpret_cast<const B*>(w + r * rb);
  int64_t i = 0;
  for (; i + 2 <= m; i += 2) QuantTile<2, NR, B>(xq, i, rows, rb, bias, y, ldy);
  if (i < m) QuantTile<1, NR, B>(xq, i, rows, rb, bias, y, ldy);
}

template <class B>
void QuantPanel(const QuantizedRows& xq, const WeightMatrix& w, const float* bias, float* y,
                int64_t m, int64_t ldy) {
  constexpr int kNR = 4;
  const size_t rb = w.row_bytes();
  const auto* base = static_cast<const unsigned char*>(w.data);
  int64_t j = 0;
  for (; j + kNR <= w.rows; j += kNR) {
    QuantRows<kNR, B>(xq, m, base + j * rb, rb, bias ? bias + j : nullptr, y + j, ldy);
  }
  for (; j < w.rows; ++j) QuantRows<1, B>(xq, m, base + j * rb, rb, bias ? bias + j : nullptr, y + j, ldy);
}

}  // namespace

void QuantizeRowsQ8(const float* x, int64_t m, int64_t k, int8_t* qs, float* d) {
  const __m256 sign_bit = _mm256_set1_ps(-0.0f);
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int64_t i = 0; i < m * (k / kQuantBlock); ++i) {
    const float* src = x + i * kQuantBlock;
    __m256 v[4];
    __m256 amax = _mm256_setzero_ps();
    for (int j = 0; j < 4; ++j) {
      v[j] = _mm256_loadu_ps(src + 8 * j);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign_bit, v[j]));
    }
    __m128 mx = _mm_max_ps(_mm256_castps256_ps128(amax), _mm256_extractf128_ps(amax, 1));
    mx = _mm_max_ps(mx, _mm_movehl_ps(mx, mx));
    mx = _mm_max_ss(mx, _mm_movehdup_ps(mx));
    const float max_abs = _mm_cvtss_f32(mx);
    d[i] = max_abs / 127.0f;
    const __m256 inv = _mm256_set1_ps(max_abs != 0.0f ? 127.0f / max_abs : 0.0f);
    __m256i q[4];
    for (int j = 0; j < 4; ++j) q[j] = _mm256_cvtps_epi32(_mm256_mul_ps(v[j], inv));  // nearest-even
    // int32 -> int8 with saturation; packs interleave 128-bit lanes, the permute restores order.
    const __m256i q01 = _mm256_packs_epi32(q[0], q[1]), q23 = _mm256_packs_epi32(q[2], q[3]);
    const __m256i q8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(q01, q23), order);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs + i * kQuantBlock), q8);
  }
}

void DotWideningAvx2(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m,
                     int64_t ldy) {
  if (w.dtype == DType::kBF16) return WidePanel<Bf16Load>(x, w, bias, y, m, ldy);
  if (w.dtype == DType::kF16) return WidePanel<F16Load>(x, w, bias, y, m, ldy);
}

void DotQuantAvx2(const QuantizedRows& xq, const WeightMatrix& w, const float* bias, float* y,
                  int64_t m, int64_t ldy) {
  if (w.dtype == DType::kQ8_0) return QuantPanel<BlockQ8_0>(xq, w, bias, y, m, ldy);
  if (w.dtype == DType::kQ4_0) return QuantPanel<BlockQ4_0>(xq, w, bias, y, m, ldy);
  if (w.dtype == DType::kQ4_1) return QuantPanel<BlockQ4_1>(xq, w, bias, y, m, ldy);
  if (w.dtype == DType::kQ5_0) return QuantPanel<BlockQ5_0>(xq, w, bias, y, m, ldy);
  if (w.dtype == DType::kQ5_1) return QuantPanel<BlockQ5_1>(xq, w, bias, y, m, ldy);
  if (w.dtype == DType::kQ4_K) return QuantPanel<BlockQ4_K>(xq, w, bias, y, m, ldy);
  if (w.dtype == DType::kQ5_K) return QuantPanel<BlockQ5_K>(xq, w, bias, y, m, ldy);
  if (w.dtype == DType::kQ6_K) return QuantPanel<BlockQ6_K>(xq, w, bias, y, m, ldy);
}

}  // namespace attnserve::cpu

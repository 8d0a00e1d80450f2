// AccumulateRows: y += a · b for the small, strided matrix products inside the CPU attention-like
// kernels (linear attention chunks, Mamba-2 SSD blocks) — register-tiled AVX2/FMA, rows of a
// broadcast against 8-float vectors of b, the last vector lane-masked. Shared by
// kernels/cpu/linear_attention.cc and kernels/cpu/ssd.cc; single-threaded (callers parallelise).
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace attnserve::cpu::accum {

// Lanes [0, n) set, n in 0..8.
inline __m256i TailMask(int64_t n) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// y[r*ldy + v*8 + l] += Σ_i a[r*lda + i] · b[i*ldb + v*8 + l] for rows r < R, vectors v < NV
// (lanes of the last one masked by `tail` when kTail).
template <int R, int NV, bool kTail>
inline void AccumTile(const float* a, int64_t lda, const float* b, int64_t ldb, float* y,
                      int64_t ldy, int64_t k, __m256i tail) {
  __m256 acc[R][NV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_setzero_ps();
  for (int64_t i = 0; i < k; ++i) {
    __m256 bv[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      bv[v] = (kTail && v == NV - 1) ? _mm256_maskload_ps(b + i * ldb + v * 8, tail)
                                     : _mm256_loadu_ps(b + i * ldb + v * 8);
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + i);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      float* dst = y + r * ldy + v * 8;
      if (kTail && v == NV - 1) {
        _mm256_maskstore_ps(dst, tail, _mm256_add_ps(_mm256_maskload_ps(dst, tail), acc[r][v]));
      } else {
        _mm256_storeu_ps(dst, _mm256_add_ps(_mm256_loadu_ps(dst), acc[r][v]));
      }
    }
  }
}

// All `rows` rows (R per tile, then one tile of the leftover rows) of one column strip.
template <int NV, bool kTail>
inline void AccumStrip(const float* a, int64_t lda, const float* b, int64_t ldb, float* y, int64_t ldy,
                int64_t rows, int64_t k, __m256i tail) {
  constexpr int kR = NV >= 4 ? 3 : 6;  // 12 accumulators
  int64_t r = 0;
  for (; r + kR <= rows; r += kR) AccumTile<kR, NV, kTail>(a + r * lda, lda, b, ldb, y + r * ldy, ldy, k, tail);
  a += r * lda;
  y += r * ldy;
  switch (rows - r) {  // 0 .. kR-1
    case 1: return AccumTile<1, NV, kTail>(a, lda, b, ldb, y, ldy, k, tail);
    case 2: return AccumTile<2, NV, kTail>(a, lda, b, ldb, y, ldy, k, tail);
    case 3: if constexpr (kR > 3) return AccumTile<3, NV, kTail>(a, lda, b, ldb, y, ldy, k, tail);
            break;
    case 4: if constexpr (kR > 4) return AccumTile<4, NV, kTail>(a, lda, b, ldb, y, ldy, k, tail);
            break;
    case 5: if constexpr (kR > 5) return AccumTile<5, NV, kTail>(a, lda, b, ldb, y, ldy, k, tail);
            break;
    default: break;
  }
}

// y f32[rows, cols] (row stride ldy) += a f32[rows, k] (stride lda) · b f32[k, cols] (stride ldb).
inline void AccumulateRows(const float* a, int64_t lda, const float* b, int64_t ldb, float* y, int64_t ldy,
                    int64_t rows, int64_t k, int64_t cols) {
  if (rows <= 0 || k <= 0) return;
  const __m256i all = _mm256_set1_epi32(-1);
  int64_t c = 0;
  if (rows <= 3) {
    for (; c + 32 <= cols; c += 32) AccumStrip<4, false>(a, lda, b + c, ldb, y + c, ldy, rows, k, all);
  }
  for (; c + 16 <= cols; c += 16) AccumStrip<2, false>(a, lda, b + c, ldb, y + c, ldy, rows, k, all);
  if (c + 8 <= cols) {
    AccumStrip<1, false>(a, lda, b + c, ldb, y + c, ldy, rows, k, all);
    c += 8;
  }
  if (c < cols) AccumStrip<1, true>(a, lda, b + c, ldb, y + c, ldy, rows, k, TailMask(cols - c));
}

}  // namespace attnserve::cpu::accum

// Own AVX2+FMA "dot-tile" Linear kernel for decode and batched decode (m = 1..~64): y = x·wᵀ with w
// in HF layout f32[n, k] used as it is, no packing. A register tile of MR x rows × NR w rows keeps
// MR·NR 8-lane accumulators; each k step of 8 loads NR w vectors and MR x vectors and issues MR·NR
// FMAs; the lanes are reduced once per tile at the end (k tail: masked loads, zero-filled).
//
//   for j in n step NR:                  w rows j..j+NR (contiguous NR·k floats): DRAM once, then L1
//     for i in m step MR:                x rows i..i+MR: L1/L2 (x is only m·k floats)
//       acc[MR][NR] += x[i.., p:p+8] * w[j.., p:p+8]     for p in k step 8
//       y[i.., j..] = hsum(acc) (+ bias)
//     (meanwhile: software-prefetch w rows j+NR..j+2NR into L2, spread over this tile's k steps)
//
// Each caller thread owns a contiguous block of w rows (LinearParallel splits n), so w is read
// from memory exactly once per call whatever m is. The prefetch makes the DRAM stream of the next
// tile overlap the FMAs of this one; without it a thread alternates between waiting for memory and
// computing, and m = 16 costs the sum of the two instead of the larger.
#include <immintrin.h>

#include <algorithm>

#include "kernels/cpu/gemm.h"

namespace attnserve::cpu {
extern int g_dot_pf_hint, g_dot_m1_nr, g_dot_pf_ahead;  // EXPERIMENT
namespace {

// m >= 2: 4 x rows × 3 w rows = 12 accumulators + 3 w vectors + 1 x vector = 16 ymm registers.
constexpr int kMR = 4;
constexpr int kNR = 3;
// m = 1: 8 w rows per tile (8 independent accumulators cover the FMA latency; 8 DRAM streams).
constexpr int kNR1 = 8;

// Lanes [0, tail) set, tail in 1..7.
inline __m256i TailMask(int64_t tail) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(tail)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// {hsum(a), hsum(b), hsum(c), hsum(d)}.
inline __m128 Sum4(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d);
  const __m256 abcd = _mm256_hadd_ps(ab, cd);  // a b c d (low 128) | a b c d (high 128), partial
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

// Software prefetch of the next w tile into L2: `lines` cache lines per k step from [next, end).
struct Prefetch {
  const char* next = nullptr;
  const char* end = nullptr;
  int64_t lines = 0;

  inline void Step() {
    for (int64_t l = 0; l < lines && next < end; ++l, next += 64) {
      if (g_dot_pf_hint == 1) _mm_prefetch(next, _MM_HINT_T1);
      else if (g_dot_pf_hint == 0) _mm_prefetch(next, _MM_HINT_T0);
    }
  }
};

// y[i*ldy + r] = x row i · w row r (+ bias[r]) for i < MR, r < NR; x and w rows have stride k.
template <int MR, int NR>
inline void DotTile(const float* x, const float* w, const float* bias, float* y, int64_t k,
                    int64_t ldy, Prefetch& pf) {
  __m256 acc[MR][NR];
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    pf.Step();
    __m256 wv[NR];
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) wv[r] = _mm256_loadu_ps(w + r * k + p);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * k + p);
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_fmadd_ps(xv, wv[r], acc[i][r]);
    }
  }
  if (p < k) {
    const __m256i mask = TailMask(k - p);
    __m256 wv[NR];
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) wv[r] = _mm256_maskload_ps(w + r * k + p, mask);
#pragma GCC unroll 16
    for (int i = 0; i < MR; ++i) {
      const __m256 xv = _mm256_maskload_ps(x + i * k + p, mask);
#pragma GCC unroll 16
      for (int r = 0; r < NR; ++r) acc[i][r] = _mm256_fmadd_ps(xv, wv[r], acc[i][r]);
    }
  }
  // Reduce the MR·NR accumulators four at a time (row-major order), then add bias and store.
  constexpr int kCount = MR * NR;
  alignas(16) float sums[(kCount + 3) / 4 * 4];
  const __m256* flat = &acc[0][0];
  const __m256 zero = _mm256_setzero_ps();
#pragma GCC unroll 16
  for (int g = 0; g < kCount; g += 4) {
    _mm_store_ps(sums + g, Sum4(flat[g], g + 1 < kCount ? flat[g + 1] : zero,
                                g + 2 < kCount ? flat[g + 2] : zero,
                                g + 3 < kCount ? flat[g + 3] : zero));
  }
#pragma GCC unroll 16
  for (int i = 0; i < MR; ++i)
#pragma GCC unroll 16
    for (int r = 0; r < NR; ++r) y[i * ldy + r] = sums[i * NR + r] + (bias ? bias[r] : 0.0f);
}

// All m x rows against NR w rows (at w, bias, y + column offset): full MR tiles, then one edge
// tile of m % MR rows (MR <= 4).
template <int MR, int NR>
void DotRows(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t k,
             int64_t ldy, Prefetch& pf) {
  int64_t i = 0;
  for (; i + MR <= m; i += MR) DotTile<MR, NR>(x + i * k, w, bias, y + i * ldy, k, ldy, pf);
  switch (m - i) {
    case 3: DotTile<3, NR>(x + i * k, w, bias, y + i * ldy, k, ldy, pf); break;
    case 2: DotTile<2, NR>(x + i * k, w, bias, y + i * ldy, k, ldy, pf); break;
    case 1: DotTile<1, NR>(x + i * k, w, bias, y + i * ldy, k, ldy, pf); break;
    default: break;
  }
}

// The whole block: n in tiles of NR w rows (the last n % NR rows one at a time), each tile
// prefetching the next one.
template <int MR, int NR>
void DotPanel(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy) {
  const char* w_end = reinterpret_cast<const char*>(w + n * k);
  const int64_t steps = (m + MR - 1) / MR * ((k + 7) / 8);  // prefetch slots per tile
  const int64_t tile_lines = (NR * k * 4 + 63) / 64;
  Prefetch pf;
  pf.lines = (tile_lines + steps - 1) / steps;
  int64_t j = 0;
  for (; j + NR <= n; j += NR) {
    if (j == 0) {  // warm-up: the first ahead-1 tiles right away
      for (const char* q = reinterpret_cast<const char*>(w + NR * k);
           q < std::min(w_end, reinterpret_cast<const char*>(w + g_dot_pf_ahead * NR * k)); q += 64)
        _mm_prefetch(q, _MM_HINT_T1);
    }
    pf.next = reinterpret_cast<const char*>(w + (j + g_dot_pf_ahead * NR) * k);
    pf.end = std::min(w_end, pf.next + NR * k * 4);
    DotRows<MR, NR>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, ldy, pf);
  }
  Prefetch none;
  for (; j < n; ++j) DotRows<MR, 1>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, ldy, none);
}

}  // namespace

int g_dot_pf_hint = 1, g_dot_m1_nr = 8, g_dot_pf_ahead = 1;  // EXPERIMENT

void DotGemmAvx2(const float* x, const float* w, const float* bias, float* y, int64_t m,
                 int64_t n, int64_t k, int64_t ldy) {
  if (m == 1) {
    switch (g_dot_m1_nr) {
      case 3: return DotPanel<1, 3>(x, w, bias, y, m, n, k, ldy);
      case 4: return DotPanel<1, 4>(x, w, bias, y, m, n, k, ldy);
      case 6: return DotPanel<1, 6>(x, w, bias, y, m, n, k, ldy);
      default: return DotPanel<1, kNR1>(x, w, bias, y, m, n, k, ldy);
    }
  }
  DotPanel<kMR, kNR>(x, w, bias, y, m, n, k, ldy);
}

}  // namespace attnserve::cpu

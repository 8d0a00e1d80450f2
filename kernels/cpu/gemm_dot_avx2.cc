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
//
// Every y element is accumulated in the same order (8 lanes over k in steps of 8, masked tail, one
// fixed horizontal reduction) whichever tile, m or thread split it falls in, so a row computed
// alone and inside a batch are bitwise equal (batch invariance, docs/architecture.md,
// "Correctness").
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemm.h"

namespace attnserve::cpu {
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

// Software prefetch of the next w tile into L2, spread evenly over the k steps of this tile:
// `rate` cache lines per k step in 16.16 fixed point, from [next, end).
struct Prefetch {
  const char* next = nullptr;
  const char* end = nullptr;
  uint32_t rate = 0, credit = 0;

  inline void Step() {
    credit += rate;
    while (credit >= (1u << 16) && next < end) {
      _mm_prefetch(next, _MM_HINT_T1);
      next += 64;
      credit -= 1u << 16;
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

// The whole block: n in tiles of NR w rows, each prefetching the next one while it is applied to
// all m x rows; the last n % NR rows in tiles of 2 and 1.
template <int MR, int NR>
void DotPanel(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy) {
  const char* const w_end = reinterpret_cast<const char*>(w + n * k);
  const int64_t steps = (m + MR - 1) / MR * ((k + 7) / 8);  // k steps per w tile
  const int64_t tile_lines = (NR * k * 4 + 63) / 64;
  Prefetch pf;
  pf.rate = uint32_t(std::min<int64_t>((tile_lines << 16) / steps + 1, int64_t{64} << 16));
  int64_t j = 0;
  for (; j + NR <= n; j += NR) {
    const float* next = w + (j + NR) * k;
    pf.next = reinterpret_cast<const char*>(next);
    pf.end = j + 2 * NR <= n ? reinterpret_cast<const char*>(next + NR * k) : w_end;
    pf.credit = 0;
    DotRows<MR, NR>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, ldy, pf);
  }
  Prefetch none;
  for (; j + 2 <= n; j += 2) {
    DotRows<MR, 2>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, ldy, none);
  }
  if (j < n) DotRows<MR, 1>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, ldy, none);
}

}  // namespace

void DotGemmAvx2(const float* x, const float* w, const float* bias, float* y, int64_t m,
                 int64_t n, int64_t k, int64_t ldy) {
  if (m == 1) return DotPanel<1, kNR1>(x, w, bias, y, m, n, k, ldy);
  // Large m (only when called directly: kAuto hands m >= 128 to OpenBLAS): blocks of x rows that
  // stay in L2 (~512 KiB of x); w is then re-read once per block.
  const int64_t rows_in_l2 = std::max<int64_t>(kMR, (int64_t{128} << 10) / k / kMR * kMR);
  for (int64_t i = 0; i < m; i += rows_in_l2) {
    DotPanel<kMR, kNR>(x + i * k, w, bias, y + i * ldy, std::min(rows_in_l2, m - i), n, k, ldy);
  }
}

}  // namespace attnserve::cpu

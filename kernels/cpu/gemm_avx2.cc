// Own AVX2+FMA Linear kernels (single-threaded; LinearParallel splits the work):
//   GemmAvx2  blocked GEMM in the BLIS/Goto layout. w (HF [n, k] = Bᵀ, k-contiguous) is packed into
//             16-column panels, x into 6-row panels, and a 6x16 tile of 12 ymm accumulators runs the
//             k loop: per k step 2 loads of B, 6 broadcasts of A, 12 FMAs.
//
//               for jc in n step NC:            B block  KC x NC  (L2/L3)
//                 for pc in k step KC:          pack w[jc.., pc..] -> Bp
//                   for ic in m step MC:        pack x[ic.., pc..] -> Ap  (L2)
//                     for jr in NC step 16:     Bp panel KC x 16 (L1)
//                       for ir in MC step 6:    6x16 micro-tile of y
//
//   GemvAvx2  small m (decode, memory-bound): each group of weight rows is read from memory once and
//             dotted with every x row while it sits in L1/L2.
#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vec_math.h"

namespace attnserve::cpu {
namespace {

constexpr int kMR = 6;
constexpr int kNR = 16;
constexpr int64_t kKC = 256;
constexpr int64_t kMC = 144;  // multiple of kMR
constexpr int64_t kNC = 768;  // multiple of kNR

struct FreeDeleter {
  void operator()(float* p) const { std::free(p); }
};

// Per-thread packing buffer of at least `floats` floats, 64-byte aligned, reused across calls.
float* ScratchBuffer(int slot, int64_t floats) {
  thread_local std::unique_ptr<float, FreeDeleter> buf[2];
  thread_local int64_t cap[2] = {0, 0};
  if (cap[slot] < floats) {
    buf[slot].reset(static_cast<float*>(std::aligned_alloc(64, ((floats * 4 + 63) / 64) * 64)));
    cap[slot] = floats;
  }
  return buf[slot].get();
}

// Ap f32[ceil(mc/6), kc, 6] <- x rows [0, mc), cols [0, kc) (row stride ldx); zero-padded rows.
void PackA(const float* x, int64_t ldx, int64_t mc, int64_t kc, float* ap) {
  for (int64_t r0 = 0; r0 < mc; r0 += kMR) {
    const int rows = int(std::min<int64_t>(kMR, mc - r0));
    for (int64_t p = 0; p < kc; ++p) {
      for (int i = 0; i < kMR; ++i) ap[p * kMR + i] = i < rows ? x[(r0 + i) * ldx + p] : 0.0f;
    }
    ap += kc * kMR;
  }
}

// Transposes the 8x8 block src rows [0, 8) (stride lds), cols [0, 8) into dst rows (stride ldd).
inline void Transpose8x8(const float* src, int64_t lds, float* dst, int64_t ldd) {
  __m256 r[8], t[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * lds);
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    r[i] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(dst + i * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x20));
    _mm256_storeu_ps(dst + (i + 4) * ldd, _mm256_permute2f128_ps(r[i], r[i + 4], 0x31));
  }
}

// Bp f32[ceil(nc/16), kc, 16] <- w rows [0, nc), cols [0, kc) (row stride ldw); zero-padded columns.
// Full panels go through 8x8 register transposes (w is k-contiguous, Bp is n-contiguous).
void PackB(const float* w, int64_t ldw, int64_t nc, int64_t kc, float* bp) {
  for (int64_t c0 = 0; c0 < nc; c0 += kNR) {
    const int cols = int(std::min<int64_t>(kNR, nc - c0));
    int64_t p0 = 0;
    if (cols == kNR) {
      for (; p0 + 8 <= kc; p0 += 8) {
        Transpose8x8(w + c0 * ldw + p0, ldw, bp + p0 * kNR, kNR);
        Transpose8x8(w + (c0 + 8) * ldw + p0, ldw, bp + p0 * kNR + 8, kNR);
      }
    }
    for (int j = 0; j < kNR; ++j) {
      const float* src = w + (c0 + j) * ldw;
      for (int64_t p = p0; p < kc; ++p) bp[p * kNR + j] = j < cols ? src[p] : 0.0f;
    }
    bp += kc * kNR;
  }
}

// c f32[mr, nr] (stride ldc) = (accumulate ? c : bias-or-0) + a·b over kc, where
// a f32[kc, 6] and b f32[kc, 16] are packed panels. mr <= 6, nr <= 16 (edge tiles go via a buffer).
void Micro6x16(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate,
               const float* bias, int mr, int nr) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 av = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(av, b0, c00), c01 = _mm256_fmadd_ps(av, b1, c01);
    av = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(av, b0, c10), c11 = _mm256_fmadd_ps(av, b1, c11);
    av = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(av, b0, c20), c21 = _mm256_fmadd_ps(av, b1, c21);
    av = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(av, b0, c30), c31 = _mm256_fmadd_ps(av, b1, c31);
    av = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(av, b0, c40), c41 = _mm256_fmadd_ps(av, b1, c41);
    av = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(av, b0, c50), c51 = _mm256_fmadd_ps(av, b1, c51);
    a += kMR;
    b += kNR;
  }
  const __m256 acc[kMR][2] = {{c00, c01}, {c10, c11}, {c20, c21},
                              {c30, c31}, {c40, c41}, {c50, c51}};
  if (mr == kMR && nr == kNR) {
    const __m256 b0 = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 b1 = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
    for (int i = 0; i < kMR; ++i) {
      float* cr = c + i * ldc;
      const __m256 base0 = accumulate ? _mm256_loadu_ps(cr) : b0;
      const __m256 base1 = accumulate ? _mm256_loadu_ps(cr + 8) : b1;
      _mm256_storeu_ps(cr, _mm256_add_ps(acc[i][0], base0));
      _mm256_storeu_ps(cr + 8, _mm256_add_ps(acc[i][1], base1));
    }
    return;
  }
  alignas(32) float tile[kMR][kNR];
  for (int i = 0; i < kMR; ++i) {
    _mm256_store_ps(tile[i], acc[i][0]);
    _mm256_store_ps(tile[i] + 8, acc[i][1]);
  }
  for (int i = 0; i < mr; ++i) {
    for (int j = 0; j < nr; ++j) {
      const float base = accumulate ? c[i * ldc + j] : (bias ? bias[j] : 0.0f);
      c[i * ldc + j] = tile[i][j] + base;
    }
  }
}

// y[c*ldy + r] = x row c · w row r (+ bias[r]) for R weight rows and C x rows (both stride k).
template <int R, int C>
inline void GemvTile(const float* x, const float* w, const float* bias, float* y, int64_t k,
                     int64_t ldy) {
  __m256 acc[C][R];
#pragma GCC unroll 16
  for (int c = 0; c < C; ++c)
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) acc[c][r] = _mm256_setzero_ps();
  int64_t p = 0;
  for (; p + 8 <= k; p += 8) {
    __m256 wv[R];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) wv[r] = _mm256_loadu_ps(w + r * k + p);
#pragma GCC unroll 16
    for (int c = 0; c < C; ++c) {
      const __m256 xv = _mm256_loadu_ps(x + c * k + p);
#pragma GCC unroll 16
      for (int r = 0; r < R; ++r) acc[c][r] = _mm256_fmadd_ps(xv, wv[r], acc[c][r]);
    }
  }
  for (int c = 0; c < C; ++c) {
    for (int r = 0; r < R; ++r) {
      float s = HorizontalSum(acc[c][r]);
      for (int64_t q = p; q < k; ++q) s += x[c * k + q] * w[r * k + q];
      y[c * ldy + r] = s + (bias ? bias[r] : 0.0f);
    }
  }
}

// All x rows against R weight rows.
template <int R>
void GemvRows(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t k,
              int64_t ldy) {
  int64_t i = 0;
  for (; i + 2 <= m; i += 2) GemvTile<R, 2>(x + i * k, w, bias, y + i * ldy, k, ldy);
  if (i < m) GemvTile<R, 1>(x + i * k, w, bias, y + i * ldy, k, ldy);
}

}  // namespace

void GemmAvx2(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy) {
  float* bp = ScratchBuffer(0, kKC * kNC);
  float* ap = ScratchBuffer(1, kKC * kMC);
  for (int64_t jc = 0; jc < n; jc += kNC) {
    const int64_t nc = std::min(kNC, n - jc);
    for (int64_t pc = 0; pc < k; pc += kKC) {
      const int64_t kc = std::min(kKC, k - pc);
      PackB(w + jc * k + pc, k, nc, kc, bp);
      for (int64_t ic = 0; ic < m; ic += kMC) {
        const int64_t mc = std::min(kMC, m - ic);
        PackA(x + ic * k + pc, k, mc, kc, ap);
        for (int64_t jr = 0; jr < nc; jr += kNR) {
          const int nr = int(std::min<int64_t>(kNR, nc - jr));
          const float* bias_j = bias ? bias + jc + jr : nullptr;
          for (int64_t ir = 0; ir < mc; ir += kMR) {
            const int mr = int(std::min<int64_t>(kMR, mc - ir));
            Micro6x16(kc, ap + ir * kc, bp + jr * kc, y + (ic + ir) * ldy + jc + jr, ldy, pc > 0,
                      bias_j, mr, nr);
          }
        }
      }
    }
  }
}

void GemvAvx2(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy) {
  int64_t j = 0;
  if (m == 1) {
    for (; j + 8 <= n; j += 8) GemvTile<8, 1>(x, w + j * k, bias ? bias + j : nullptr, y + j, k, ldy);
  }
  for (; j + 4 <= n; j += 4) GemvRows<4>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, ldy);
  for (; j < n; ++j) GemvRows<1>(x, w + j * k, bias ? bias + j : nullptr, y + j, m, k, ldy);
}

}  // namespace attnserve::cpu

// Mamba-2 mixer kernels on the CPU (see kernels/ssd.h for the math, layouts and the state).
//
// SsdScan, num_tokens > 1: the chunked SSD algorithm. OpenMP splits the heads into contiguous
// ranges; a thread walks the call's tokens in blocks of Q = chunk_size and, per block, its heads
// (C·Bᵀ belongs to a group, so it is built once per block for consecutive heads of one group).
// The state of each head is kept transposed, Sᵀ f32[N, P], for the whole call. Per block of
// L <= Q tokens and head (cum = running Σ delta·A in double, so exp(cum_l - cum_s) keeps its
// precision however long the block):
//
//   Gm  f32[L, L] = C · Bᵀ                    (group; lower triangle, row blocks of 6)
//   M   f32[L, L] = Gm ∘ exp(cum_l - cum_s) · delta_s   for s <= l, else 0
//   out f32[L, P] = D·X + (exp(cum_l)·C) · Sᵀ + M · X      (Y_off + Y_diag, X = x rows of head h)
//   Sᵀ  f32[N, P] = exp(cum_last)·Sᵀ + (Bᵀ ∘ exp(cum_last - cum_s)·delta_s) · X
//
// Every product is y += a·b with b's rows contiguous along the output (AccumulateRows: register
// tiles of 12 ymm accumulators, b read straight from the strided activations), i.e. the work is
// Q·(N + P)/2 + 2·N·P FMAs per token and head in GEMM form.
// num_tokens == 1 (decode): the recurrence itself on state f32[P, N], vectorised along N.
//
// GatedRmsNorm: one row at a time (OpenMP over rows): v = x·silu(z) into out, Σv² per group, then
// out *= weight / sqrt(mean + eps).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/ssd.h"
#include "kernels/cpu/accumulate_rows.h"

namespace attnserve::cpu {
namespace {

constexpr int64_t kLanes = 8;

inline int64_t RoundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// delta = clamp(softplus(dt + bias)) as in the header; softplus in double, rounded once.
inline float Delta(float dt, float bias, float lo, float hi) {
  const double v = double(dt) + double(bias);
  const float sp = float(v > 20.0 ? v : std::log1p(std::exp(v)));
  return std::min(std::max(sp, lo), hi);
}

using accum::AccumulateRows;
using accum::TailMask;

constexpr int64_t kRowBlock = 6;  // rows per causal step of the triangular products

// Per-thread buffers of the chunked scan for blocks of up to Q tokens (Qp = Q rounded up to 8).
struct BlockBuffers {
  int64_t Qp;
  std::vector<float> bt;     // f32[N, Qp]  Bᵀ of the block's group (zero past L)
  std::vector<float> gm;     // f32[Q, Qp]  C·Bᵀ of the block's group (rows l, cols s <= l used)
  std::vector<float> m;      // f32[Q, Qp]  Gm ∘ decay · delta_s, zero for s > l
  std::vector<float> cs;     // f32[Q, N]   C rows · exp(cum_l)
  std::vector<float> btw;    // f32[N, Qp]  Bᵀ · exp(cum_last - cum_s) · delta_s
  std::vector<float> delta;  // f32[Qp]     zero past L
  std::vector<double> cum;   // f64[Qp]     Σ_{i<=l} delta_i · A
  BlockBuffers(int64_t Q, int64_t N)
      : Qp(RoundUp(Q, kLanes)), bt(N * Qp), gm(Q * Qp), m(Q * Qp, 0.0f), cs(Q * N), btw(N * Qp),
        delta(Qp), cum(Qp) {}
};

// Bᵀ and C·Bᵀ of one block (L tokens from B, C rows of the group, row stride ld).
void BuildGroupBlock(const float* B, const float* C, int64_t ld, int64_t L, int64_t N,
                     BlockBuffers& w) {
  const int64_t Qp = w.Qp;
  for (int64_t n = 0; n < N; ++n) {
    float* row = w.bt.data() + n * Qp;
    for (int64_t s = 0; s < L; ++s) row[s] = B[s * ld + n];
    std::fill(row + L, row + Qp, 0.0f);
  }
  std::fill(w.gm.begin(), w.gm.begin() + L * Qp, 0.0f);
  for (int64_t r0 = 0; r0 < L; r0 += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, L - r0);
    AccumulateRows(C + r0 * ld, ld, w.bt.data(), Qp, w.gm.data() + r0 * Qp, Qp, rows, N, r0 + rows);
  }
}

// Converts 8 doubles cum_l - cum[s .. s+7] to floats.
inline __m256 DiffToFloat(double cum_l, const double* cum) {
  const __m256d c = _mm256_set1_pd(cum_l);
  const __m128 lo = _mm256_cvtpd_ps(_mm256_sub_pd(c, _mm256_loadu_pd(cum)));
  const __m128 hi = _mm256_cvtpd_ps(_mm256_sub_pd(c, _mm256_loadu_pd(cum + 4)));
  return _mm256_insertf128_ps(_mm256_castps128_ps256(lo), hi, 1);
}

struct HeadBlockArgs {
  const float* x;   // x rows of the block at head h's columns (row stride x_stride)
  const float* dt;  // dt rows of the block at column h (row stride dt_stride)
  const float* C;   // C rows of the block at group g's columns (row stride bc_stride)
  float* out;       // out rows of the block at head h's columns (row stride H·P)
  float* st;        // f32[N, P] the head's transposed state (in/out)
  float bias, a, d;
};

// One block of L tokens of one head (the group's Bᵀ and C·Bᵀ already in w).
void HeadBlock(const HeadBlockArgs& h, const SsdShape& s, int64_t L, BlockBuffers& w) {
  const int64_t N = s.state_size, P = s.head_dim, Qp = w.Qp;
  const int64_t x_stride = s.x_stride, ld_bc = s.bc_stride, ld_out = s.num_heads * P;
  double cum = 0.0;
  for (int64_t l = 0; l < L; ++l) {
    w.delta[l] = Delta(h.dt[l * s.dt_stride], h.bias, s.dt_min, s.dt_max);
    w.cum[l] = cum += double(w.delta[l]) * double(h.a);
  }
  std::fill(w.delta.begin() + L, w.delta.end(), 0.0f);
  std::fill(w.cum.begin() + L, w.cum.end(), cum);
  const double cum_last = cum;

  // M row l: lanes s <= l, vectors up to l (the rest of the row stays zero from construction).
  for (int64_t l = 0; l < L; ++l) {
    float* mrow = w.m.data() + l * Qp;
    const float* grow = w.gm.data() + l * Qp;
    for (int64_t s0 = 0; s0 <= l; s0 += kLanes) {
      const __m256 decay = Exp(_mm256_min_ps(DiffToFloat(w.cum[l], w.cum.data() + s0), _mm256_setzero_ps()));
      const __m256 v = _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(grow + s0), decay),
                                     _mm256_loadu_ps(w.delta.data() + s0));
      _mm256_storeu_ps(mrow + s0, _mm256_and_ps(v, _mm256_castsi256_ps(TailMask(l + 1 - s0))));
    }
  }
  // out = D·x, then += (exp(cum_l)·C) · Sᵀ (Y_off), then += M · X (Y_diag).
  for (int64_t l = 0; l < L; ++l) {
    float* o = h.out + l * ld_out;
    const float* xr = h.x + l * x_stride;
    for (int64_t p = 0; p < P; ++p) o[p] = h.d * xr[p];
    const float e = std::exp(float(w.cum[l]));
    const float* cr = h.C + l * ld_bc;
    for (int64_t n = 0; n < N; ++n) w.cs[l * N + n] = cr[n] * e;
  }
  AccumulateRows(w.cs.data(), N, h.st, P, h.out, ld_out, L, N, P);
  for (int64_t r0 = 0; r0 < L; r0 += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, L - r0);
    AccumulateRows(w.m.data() + r0 * Qp, Qp, h.x, x_stride, h.out + r0 * ld_out, ld_out, rows,
                   r0 + rows, P);
  }
  // Sᵀ = exp(cum_last)·Sᵀ + (Bᵀ ∘ weights) · X.
  for (int64_t s0 = 0; s0 < Qp; s0 += kLanes) {
    const __m256 decay = Exp(_mm256_min_ps(DiffToFloat(cum_last, w.cum.data() + s0), _mm256_setzero_ps()));
    _mm256_storeu_ps(w.delta.data() + s0, _mm256_mul_ps(decay, _mm256_loadu_ps(w.delta.data() + s0)));
  }
  for (int64_t n = 0; n < N; ++n) {
    for (int64_t s0 = 0; s0 < Qp; s0 += kLanes) {
      _mm256_storeu_ps(w.btw.data() + n * Qp + s0, _mm256_mul_ps(_mm256_loadu_ps(w.bt.data() + n * Qp + s0),
                                                                 _mm256_loadu_ps(w.delta.data() + s0)));
    }
  }
  const float decay_last = std::exp(float(cum_last));
  for (int64_t i = 0; i < N * P; ++i) h.st[i] *= decay_last;
  AccumulateRows(w.btw.data(), Qp, h.x, x_stride, h.st, P, N, L, P);
}

// The chunked scan of heads [h0, h1) (shape strides resolved).
void ChunkedHeads(const float* x, const float* dt, const float* dt_bias, const float* A,
                  const float* B, const float* C, const float* D, const SsdShape& s, float* state,
                  float* out, int64_t h0, int64_t h1) {
  const int64_t T = s.num_tokens, H = s.num_heads, P = s.head_dim, N = s.state_size;
  const int64_t heads_per_group = H / s.num_groups;
  const int64_t Q = std::min(std::max<int64_t>(s.chunk_size, 1), T);
  BlockBuffers w(Q, N);
  std::vector<float> st((h1 - h0) * N * P);  // f32[h1-h0, N, P] transposed states
  for (int64_t h = h0; h < h1; ++h) {
    for (int64_t p = 0; p < P; ++p)
      for (int64_t n = 0; n < N; ++n) st[((h - h0) * N + n) * P + p] = state[(h * P + p) * N + n];
  }
  for (int64_t t0 = 0; t0 < T; t0 += Q) {
    const int64_t L = std::min(Q, T - t0);
    int64_t built_group = -1;
    for (int64_t h = h0; h < h1; ++h) {
      const int64_t g = h / heads_per_group;
      const float* Bg = B + t0 * s.bc_stride + g * N;
      const float* Cg = C + t0 * s.bc_stride + g * N;
      if (g != built_group) {
        BuildGroupBlock(Bg, Cg, s.bc_stride, L, N, w);
        built_group = g;
      }
      const HeadBlockArgs args{x + t0 * s.x_stride + h * P, dt + t0 * s.dt_stride + h, Cg,
                               out + t0 * H * P + h * P, st.data() + (h - h0) * N * P,
                               dt_bias ? dt_bias[h] : 0.0f, A[h], D ? D[h] : 0.0f};
      HeadBlock(args, s, L, w);
    }
  }
  for (int64_t h = h0; h < h1; ++h) {
    for (int64_t p = 0; p < P; ++p)
      for (int64_t n = 0; n < N; ++n) state[(h * P + p) * N + n] = st[((h - h0) * N + n) * P + p];
  }
}

// One token of heads [h0, h1): the recurrence on state rows f32[P, N], vectorised along N.
void RecurrentHeads(const float* x, const float* dt, const float* dt_bias, const float* A,
                    const float* B, const float* C, const float* D, const SsdShape& s, float* state,
                    float* out, int64_t h0, int64_t h1) {
  const int64_t P = s.head_dim, N = s.state_size, heads_per_group = s.num_heads / s.num_groups;
  const int64_t n8 = N / kLanes * kLanes;
  const __m256i tail = TailMask(N - n8);
  for (int64_t h = h0; h < h1; ++h) {
    const int64_t g = h / heads_per_group;
    const float delta = Delta(dt[h], dt_bias ? dt_bias[h] : 0.0f, s.dt_min, s.dt_max);
    const __m256 decay = _mm256_set1_ps(std::exp(delta * A[h]));
    const float* b = B + g * N;
    const float* c = C + g * N;
    const float d = D ? D[h] : 0.0f;
    for (int64_t p = 0; p < P; ++p) {
      const float xp = x[h * P + p];
      const __m256 dx = _mm256_set1_ps(delta * xp);
      float* row = state + (h * P + p) * N;
      __m256 y = _mm256_setzero_ps();
      int64_t n = 0;
      for (; n < n8; n += kLanes) {
        const __m256 sn = _mm256_fmadd_ps(decay, _mm256_loadu_ps(row + n), _mm256_mul_ps(dx, _mm256_loadu_ps(b + n)));
        _mm256_storeu_ps(row + n, sn);
        y = _mm256_fmadd_ps(sn, _mm256_loadu_ps(c + n), y);
      }
      if (n < N) {
        const __m256 sn = _mm256_fmadd_ps(decay, _mm256_maskload_ps(row + n, tail),
                                          _mm256_mul_ps(dx, _mm256_maskload_ps(b + n, tail)));
        _mm256_maskstore_ps(row + n, tail, sn);
        y = _mm256_fmadd_ps(sn, _mm256_maskload_ps(c + n, tail), y);
      }
      out[h * P + p] = HorizontalSum(y) + d * xp;
    }
  }
}

inline __m256 Silu(__m256 u) {
  return _mm256_div_ps(u, _mm256_add_ps(_mm256_set1_ps(1.0f), Exp(_mm256_sub_ps(_mm256_setzero_ps(), u))));
}

}  // namespace

void SsdScan(int num_threads, const float* x, const float* dt, const float* dt_bias, const float* A,
             const float* B, const float* C, const float* D, const SsdShape& shape, float* state,
             float* out) {
  if (shape.num_tokens <= 0 || shape.num_heads <= 0) return;
  SsdShape s = shape;
  if (s.x_stride <= 0) s.x_stride = s.num_heads * s.head_dim;
  if (s.dt_stride <= 0) s.dt_stride = s.num_heads;
  if (s.bc_stride <= 0) s.bc_stride = s.num_groups * s.state_size;
  const int64_t work_per_head = s.num_tokens * s.head_dim * s.state_size;
  const int64_t min_heads = std::max<int64_t>(1, 32768 / std::max<int64_t>(work_per_head, 1));
  ParallelRanges(num_threads, s.num_heads, 1, min_heads, [&](int64_t h0, int64_t h1) {
    if (s.num_tokens == 1) {
      RecurrentHeads(x, dt, dt_bias, A, B, C, D, s, state, out, h0, h1);
    } else {
      ChunkedHeads(x, dt, dt_bias, A, B, C, D, s, state, out, h0, h1);
    }
  });
}

void GatedRmsNorm(int num_threads, const float* x, const float* z, const float* weight,
                  const GatedRmsNormShape& shape, float* out) {
  const int64_t dim = shape.dim;
  const int64_t gs = shape.group_size > 0 ? shape.group_size : dim;
  const int64_t z_stride = shape.z_stride > 0 ? shape.z_stride : dim;
  if (shape.rows <= 0 || dim <= 0) return;
  const int64_t min_rows = std::max<int64_t>(1, 16384 / dim);
  ParallelRanges(num_threads, shape.rows, 1, min_rows, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      const float* zr = z ? z + r * z_stride : nullptr;
      float* o = out + r * dim;
      for (int64_t g0 = 0; g0 < dim; g0 += gs) {
        __m256 ss = _mm256_setzero_ps();
        for (int64_t i = g0; i < g0 + gs; i += kLanes) {  // v = x·silu(z) into o, Σv²
          const __m256i m = TailMask(std::min(kLanes, g0 + gs - i));
          __m256 v = _mm256_maskload_ps(xr + i, m);
          if (zr) v = _mm256_mul_ps(v, Silu(_mm256_maskload_ps(zr + i, m)));
          _mm256_maskstore_ps(o + i, m, v);
          ss = _mm256_fmadd_ps(v, v, ss);
        }
        const __m256 inv = _mm256_set1_ps(1.0f / std::sqrt(HorizontalSum(ss) / float(gs) + shape.eps));
        for (int64_t i = g0; i < g0 + gs; i += kLanes) {
          const __m256i m = TailMask(std::min(kLanes, g0 + gs - i));
          const __m256 v = _mm256_mul_ps(_mm256_maskload_ps(o + i, m), inv);
          _mm256_maskstore_ps(o + i, m, _mm256_mul_ps(v, _mm256_maskload_ps(weight + i, m)));
        }
      }
    }
  });
}

}  // namespace attnserve::cpu

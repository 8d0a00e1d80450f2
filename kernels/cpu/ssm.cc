// Mamba-1 mixer kernels on the CPU (see kernels/ssm.h for the math, layouts and states).
//
// Both kernels vectorise across 8 channels (one AVX2 lane per channel): activations are
// token-major, so a token's 8 channels are one contiguous load and nothing needs a horizontal
// sum. Per-channel parameters and states (channel-major in memory) are transposed into small
// lane-major buffers per block of 8 channels, kept for the whole chunk, and written back once.
// The last partial block uses masked loads/stores on the same path (padding lanes compute on
// zeros and are dropped). OpenMP splits the channels into ranges aligned to 8.
//
// SelectiveScan per block and token: delta = softplus(dt + dt_bias) (scalar log1p/exp, once per
// channel and token), then for n < N: h[n] = exp(delta·A[n])·h[n] + (delta·B[t,n])·u and
// y += h[n]·C[t,n] with B[t,n], C[t,n] broadcast (shared by all channels); the exps are the cost.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"
#include "kernels/ssm.h"

namespace attnserve::cpu {
namespace {

constexpr int64_t kLanes = 8;

// Lane mask for the first `n` (1..8) lanes.
__m256i LaneMask(int64_t n) {
  alignas(32) static const int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 8 - n));
}

inline __m256 Load(const float* p, int64_t n, __m256i mask) {
  return n == kLanes ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask);
}

inline void Store(float* p, __m256 v, int64_t n, __m256i mask) {
  if (n == kLanes) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, mask, v);
  }
}

// silu(x) = x / (1 + e^-x), lane-wise.
inline __m256 Silu(__m256 x) {
  const __m256 e = Exp(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// torch softplus (beta 1, threshold 20).
inline float Softplus(float x) { return x > 20.0f ? x : std::log1p(std::exp(x)); }

int64_t MinChunk(int64_t work_per_channel) {
  return std::max<int64_t>(kLanes, 32768 / std::max<int64_t>(work_per_channel, 1));
}

}  // namespace

void CausalConv1dSilu(int num_threads, const float* x, const float* weight, const float* bias,
                      const SsmConvShape& shape, float* conv_state, float* out) {
  const int64_t T = shape.num_tokens, channels = shape.channels, K = shape.kernel_size;
  const int64_t x_stride = shape.x_stride > 0 ? shape.x_stride : channels;
  if (T <= 0 || channels <= 0) return;
  const int64_t S = K - 1;  // remembered inputs per channel
  ParallelRanges(num_threads, channels, kLanes, MinChunk(T * K), [&](int64_t begin, int64_t end) {
    std::vector<float> w(K * kLanes), window(std::max<int64_t>(S, 1) * kLanes);
    for (int64_t c0 = begin; c0 < end; c0 += kLanes) {
      const int64_t nl = std::min(kLanes, end - c0);
      const __m256i mask = LaneMask(nl);
      // Lane-major copies: w[i][l] = weight[c0+l, i], window[s][l] = conv_state[c0+l, s].
      std::fill(w.begin(), w.end(), 0.0f);
      std::fill(window.begin(), window.end(), 0.0f);
      for (int64_t l = 0; l < nl; ++l) {
        for (int64_t i = 0; i < K; ++i) w[i * kLanes + l] = weight[(c0 + l) * K + i];
        for (int64_t s = 0; s < S; ++s) window[s * kLanes + l] = conv_state[(c0 + l) * S + s];
      }
      const __m256 vb = bias ? Load(bias + c0, nl, mask) : _mm256_setzero_ps();
      for (int64_t t = 0; t < T; ++t) {
        __m256 acc = vb;
        for (int64_t i = 0; i < K; ++i) {
          const int64_t j = t + i - S;  // chunk row of input xin[t + i]; < 0: from the state
          const __m256 xv = j < 0 ? _mm256_loadu_ps(window.data() + (j + S) * kLanes)
                                  : Load(x + j * x_stride + c0, nl, mask);
          acc = _mm256_fmadd_ps(_mm256_loadu_ps(w.data() + i * kLanes), xv, acc);
        }
        Store(out + t * channels + c0, Silu(acc), nl, mask);
      }
      // New state = xin[T .. T+S-1]: old state entries T+s < S, else chunk rows T+s-S.
      for (int64_t l = 0; l < nl; ++l) {
        float* st = conv_state + (c0 + l) * S;
        for (int64_t s = 0; s < S; ++s) {
          const int64_t k = T + s;
          st[s] = k < S ? window[k * kLanes + l] : x[(k - S) * x_stride + c0 + l];
        }
      }
    }
  });
}

void SelectiveScan(int num_threads, const float* u, const float* dt, const float* dt_bias,
                   const float* A, const float* B, const float* C, const float* D, const float* z,
                   const SelectiveScanShape& shape, float* ssm_state, float* out) {
  const int64_t T = shape.num_tokens, channels = shape.channels, N = shape.state_size;
  const int64_t u_stride = shape.u_stride > 0 ? shape.u_stride : channels;
  const int64_t dt_stride = shape.dt_stride > 0 ? shape.dt_stride : channels;
  const int64_t bc_stride = shape.bc_stride > 0 ? shape.bc_stride : N;
  const int64_t z_stride = shape.z_stride > 0 ? shape.z_stride : channels;
  if (T <= 0 || channels <= 0) return;
  ParallelRanges(num_threads, channels, kLanes, MinChunk(T * N), [&](int64_t begin, int64_t end) {
    std::vector<float> a(N * kLanes), h(N * kLanes);
    alignas(32) float delta[kLanes];
    for (int64_t c0 = begin; c0 < end; c0 += kLanes) {
      const int64_t nl = std::min(kLanes, end - c0);
      const __m256i mask = LaneMask(nl);
      // Lane-major copies: a[n][l] = A[c0+l, n], h[n][l] = ssm_state[c0+l, n].
      std::fill(a.begin(), a.end(), 0.0f);
      std::fill(h.begin(), h.end(), 0.0f);
      for (int64_t l = 0; l < nl; ++l) {
        for (int64_t n = 0; n < N; ++n) {
          a[n * kLanes + l] = A[(c0 + l) * N + n];
          h[n * kLanes + l] = ssm_state[(c0 + l) * N + n];
        }
      }
      const __m256 vd = D ? Load(D + c0, nl, mask) : _mm256_setzero_ps();
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t l = 0; l < kLanes; ++l) {
          delta[l] = l < nl ? Softplus(dt[t * dt_stride + c0 + l] + (dt_bias ? dt_bias[c0 + l] : 0.0f))
                            : 0.0f;
        }
        const __m256 vdelta = _mm256_load_ps(delta);
        const __m256 vu = Load(u + t * u_stride + c0, nl, mask);
        const float* bt = B + t * bc_stride;
        const float* ct = C + t * bc_stride;
        __m256 y = _mm256_setzero_ps();
        for (int64_t n = 0; n < N; ++n) {
          const __m256 dA = Exp(_mm256_mul_ps(vdelta, _mm256_loadu_ps(a.data() + n * kLanes)));
          const __m256 dBu = _mm256_mul_ps(_mm256_mul_ps(vdelta, _mm256_set1_ps(bt[n])), vu);
          const __m256 hn = _mm256_fmadd_ps(dA, _mm256_loadu_ps(h.data() + n * kLanes), dBu);
          _mm256_storeu_ps(h.data() + n * kLanes, hn);
          y = _mm256_fmadd_ps(hn, _mm256_set1_ps(ct[n]), y);
        }
        y = _mm256_fmadd_ps(vu, vd, y);
        if (z) y = _mm256_mul_ps(y, Silu(Load(z + t * z_stride + c0, nl, mask)));
        Store(out + t * channels + c0, y, nl, mask);
      }
      for (int64_t l = 0; l < nl; ++l) {
        for (int64_t n = 0; n < N; ++n) ssm_state[(c0 + l) * N + n] = h[n * kLanes + l];
      }
    }
  });
}

}  // namespace attnserve::cpu

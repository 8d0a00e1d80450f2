// AVX2+FMA implementations of the row-wise / element-wise ops declared in elementwise.h.
#include "kernels/cpu/elementwise.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/parallel.h"
#include "kernels/cpu/vec_math.h"

namespace attnserve::cpu {
namespace {

// Work below this many floats per thread is not worth an OpenMP team.
constexpr int64_t kMinFloatsPerThread = 1 << 14;

int64_t MinRows(int64_t row_floats) {
  return std::max<int64_t>(1, kMinFloatsPerThread / std::max<int64_t>(row_floats, 1));
}

float RowMax(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  float mx = HorizontalMax(m);
  for (; i < n; ++i) mx = std::max(mx, x[i]);
  return mx;
}

// sum_i exp(x[i] - mx); when out != nullptr also stores the exponentials there.
float SumExp(const float* x, float mx, float* out, int64_t n) {
  const __m256 vm = _mm256_set1_ps(mx);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = Exp(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    if (out) _mm256_storeu_ps(out + i, e);
    acc = _mm256_add_ps(acc, e);
  }
  float s = HorizontalSum(acc);
  for (; i < n; ++i) {
    const float e = std::exp(x[i] - mx);
    if (out) out[i] = e;
    s += e;
  }
  return s;
}

}  // namespace

void RmsNorm(int num_threads, const float* x, const float* weight, float* y, int64_t rows,
             int64_t dim, float eps) {
  ParallelRanges(num_threads, rows, 1, MinRows(dim), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      const float inv = 1.0f / std::sqrt(Dot(xr, xr, dim) / float(dim) + eps);
      const __m256 vinv = _mm256_set1_ps(inv);
      int64_t i = 0;
      for (; i + 8 <= dim; i += 8) {
        const __m256 normed = _mm256_mul_ps(_mm256_loadu_ps(xr + i), vinv);
        _mm256_storeu_ps(yr + i, _mm256_mul_ps(_mm256_loadu_ps(weight + i), normed));
      }
      for (; i < dim; ++i) yr[i] = weight[i] * (xr[i] * inv);
    }
  });
}

void LayerNorm(int num_threads, const float* x, const float* weight, const float* bias, float* y,
               int64_t rows, int64_t dim, float eps) {
  ParallelRanges(num_threads, rows, 1, MinRows(dim), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * dim;
      float* yr = y + r * dim;
      __m256 acc = _mm256_setzero_ps();
      int64_t i = 0;
      for (; i + 8 <= dim; i += 8) acc = _mm256_add_ps(acc, _mm256_loadu_ps(xr + i));
      float sum = HorizontalSum(acc);
      for (; i < dim; ++i) sum += xr[i];
      const float mean = sum / float(dim);
      const __m256 vmean = _mm256_set1_ps(mean);
      acc = _mm256_setzero_ps();
      for (i = 0; i + 8 <= dim; i += 8) {
        const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(xr + i), vmean);
        acc = _mm256_fmadd_ps(d, d, acc);
      }
      float ss = HorizontalSum(acc);
      for (; i < dim; ++i) ss += (xr[i] - mean) * (xr[i] - mean);
      const float inv = 1.0f / std::sqrt(ss / float(dim) + eps);
      const __m256 vinv = _mm256_set1_ps(inv);
      for (i = 0; i + 8 <= dim; i += 8) {
        const __m256 normed = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vmean), vinv);
        _mm256_storeu_ps(yr + i, _mm256_fmadd_ps(normed, _mm256_loadu_ps(weight + i), _mm256_loadu_ps(bias + i)));
      }
      for (; i < dim; ++i) yr[i] = (xr[i] - mean) * inv * weight[i] + bias[i];
    }
  });
}

void GeluTanh(int num_threads, const float* x, float* y, int64_t n) {
  // 0.5·(1 + tanh u) = 1 / (1 + exp(-2u)): no cancellation near u = 0, saturates cleanly.
  constexpr float kC = 0.79788456f, kA = 0.044715f;
  ParallelRanges(num_threads, n, 16, kMinFloatsPerThread, [&](int64_t b, int64_t e) {
    const __m256 one = _mm256_set1_ps(1.0f), m2c = _mm256_set1_ps(-2.0f * kC), a = _mm256_set1_ps(kA);
    int64_t i = b;
    for (; i + 8 <= e; i += 8) {
      const __m256 v = _mm256_loadu_ps(x + i);
      const __m256 inner = _mm256_fmadd_ps(_mm256_mul_ps(a, v), v, one);        // 1 + a·x²
      const __m256 t = Exp(_mm256_mul_ps(_mm256_mul_ps(m2c, v), inner));       // exp(-2u)
      _mm256_storeu_ps(y + i, _mm256_div_ps(v, _mm256_add_ps(one, t)));
    }
    for (; i < e; ++i) {
      const float v = x[i];
      y[i] = v / (1.0f + std::exp(-2.0f * kC * v * (1.0f + kA * v * v)));
    }
  });
}

void ApplyRope(int num_threads, float* x, const float* cos, const float* sin, int64_t num_tokens,
               int64_t num_heads, int64_t head_dim) {
  const int64_t half = head_dim / 2;
  ParallelRanges(num_threads, num_tokens, 1, MinRows(num_heads * head_dim), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const float* c = cos + t * half;
      const float* s = sin + t * half;
      for (int64_t h = 0; h < num_heads; ++h) {
        float* lo = x + (t * num_heads + h) * head_dim;
        float* hi = lo + half;
        int64_t i = 0;
        for (; i + 8 <= half; i += 8) {
          const __m256 a = _mm256_loadu_ps(lo + i), b = _mm256_loadu_ps(hi + i);
          const __m256 vc = _mm256_loadu_ps(c + i), vs = _mm256_loadu_ps(s + i);
          _mm256_storeu_ps(lo + i, _mm256_sub_ps(_mm256_mul_ps(a, vc), _mm256_mul_ps(b, vs)));
          _mm256_storeu_ps(hi + i, _mm256_add_ps(_mm256_mul_ps(b, vc), _mm256_mul_ps(a, vs)));
        }
        for (; i < half; ++i) {
          const float a = lo[i], b = hi[i];
          lo[i] = a * c[i] - b * s[i];
          hi[i] = b * c[i] + a * s[i];
        }
      }
    }
  });
}

void SiluMul(int num_threads, const float* gate, const float* up, float* out, int64_t n) {
  ParallelRanges(num_threads, n, 16, kMinFloatsPerThread, [&](int64_t b, int64_t e) {
    const __m256 one = _mm256_set1_ps(1.0f);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    int64_t i = b;
    for (; i + 8 <= e; i += 8) {
      const __m256 g = _mm256_loadu_ps(gate + i);
      const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, Exp(_mm256_xor_ps(g, sign))));
      _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
    }
    for (; i < e; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
  });
}

void AddInPlace(int num_threads, float* y, const float* x, int64_t n) {
  ParallelRanges(num_threads, n, 16, kMinFloatsPerThread, [&](int64_t b, int64_t e) {
    int64_t i = b;
    for (; i + 8 <= e; i += 8) {
      _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_loadu_ps(x + i)));
    }
    for (; i < e; ++i) y[i] += x[i];
  });
}

void LogSoftmax(int num_threads, const float* x, float* y, int64_t rows, int64_t n) {
  ParallelRanges(num_threads, rows, 1, MinRows(n), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* xr = x + r * n;
      float* yr = y + r * n;
      const float mx = RowMax(xr, n);
      const float log_sum = std::log(SumExp(xr, mx, nullptr, n));
      const __m256 vm = _mm256_set1_ps(mx), vl = _mm256_set1_ps(log_sum);
      int64_t i = 0;
      for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(yr + i, _mm256_sub_ps(_mm256_sub_ps(_mm256_loadu_ps(xr + i), vm), vl));
      }
      for (; i < n; ++i) yr[i] = (xr[i] - mx) - log_sum;
    }
  });
}

void SoftmaxInPlace(float* scores, int64_t n) {
  const float mx = RowMax(scores, n);
  const float inv = 1.0f / SumExp(scores, mx, scores, n);
  const __m256 vinv = _mm256_set1_ps(inv);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(scores + i, _mm256_mul_ps(_mm256_loadu_ps(scores + i), vinv));
  for (; i < n; ++i) scores[i] *= inv;
}

}  // namespace attnserve::cpu

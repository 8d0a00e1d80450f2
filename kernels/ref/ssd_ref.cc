// Naive reference of the Mamba-2 mixer kernels (kernels/ssd.h): one head at a time, the
// token-by-token recurrence in double, written to read like the formulas in the header (no
// chunking: shape.chunk_size is ignored). The test oracle.
#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/ssd.h"

namespace attnserve::ref {
namespace {

// torch.nn.functional.softplus with beta = 1, threshold = 20.
double Softplus(double v) { return v > 20.0 ? v : std::log1p(std::exp(v)); }

double Silu(double u) { return u / (1.0 + std::exp(-u)); }

}  // namespace

void SsdScan(const float* x, const float* dt, const float* dt_bias, const float* A, const float* B,
             const float* C, const float* D, const SsdShape& shape, float* state, float* out) {
  const int64_t T = shape.num_tokens, H = shape.num_heads, P = shape.head_dim;
  const int64_t G = shape.num_groups, N = shape.state_size;
  const int64_t x_stride = shape.x_stride > 0 ? shape.x_stride : H * P;
  const int64_t dt_stride = shape.dt_stride > 0 ? shape.dt_stride : H;
  const int64_t bc_stride = shape.bc_stride > 0 ? shape.bc_stride : G * N;
  if (T <= 0 || H <= 0) return;
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / (H / G);
    std::vector<double> S(state + h * P * N, state + (h + 1) * P * N);  // [P, N]
    for (int64_t t = 0; t < T; ++t) {
      double delta = Softplus(double(dt[t * dt_stride + h]) + (dt_bias ? dt_bias[h] : 0.0));
      delta = std::min(std::max(delta, double(shape.dt_min)), double(shape.dt_max));
      const double decay = std::exp(delta * A[h]);
      const float* xt = x + t * x_stride + h * P;
      const float* Bt = B + t * bc_stride + g * N;
      const float* Ct = C + t * bc_stride + g * N;
      for (int64_t p = 0; p < P; ++p) {
        double y = 0.0;
        for (int64_t n = 0; n < N; ++n) {
          double& s = S[p * N + n];
          s = decay * s + delta * double(xt[p]) * double(Bt[n]);
          y += s * double(Ct[n]);
        }
        if (D) y += double(D[h]) * double(xt[p]);
        out[t * H * P + h * P + p] = float(y);
      }
    }
    for (int64_t i = 0; i < P * N; ++i) state[h * P * N + i] = float(S[i]);
  }
}

void GatedRmsNorm(const float* x, const float* z, const float* weight,
                  const GatedRmsNormShape& shape, float* out) {
  const int64_t dim = shape.dim;
  const int64_t gs = shape.group_size > 0 ? shape.group_size : dim;
  const int64_t z_stride = shape.z_stride > 0 ? shape.z_stride : dim;
  std::vector<double> v(dim);
  for (int64_t r = 0; r < shape.rows; ++r) {
    for (int64_t i = 0; i < dim; ++i) {
      v[i] = double(x[r * dim + i]) * (z ? Silu(z[r * z_stride + i]) : 1.0);
    }
    for (int64_t g0 = 0; g0 < dim; g0 += gs) {
      double ss = 0.0;
      for (int64_t i = g0; i < g0 + gs; ++i) ss += v[i] * v[i];
      const double inv = 1.0 / std::sqrt(ss / double(gs) + double(shape.eps));
      for (int64_t i = g0; i < g0 + gs; ++i) out[r * dim + i] = float(double(weight[i]) * v[i] * inv);
    }
  }
}

}  // namespace attnserve::ref

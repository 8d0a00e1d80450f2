// Naive reference of the Mamba-1 mixer kernels (kernels/ssm.h): one channel at a time, double
// accumulation, written to read like the formulas in the header. The test oracle.
#include <cmath>
#include <vector>

#include "kernels/ssm.h"

namespace attnserve::ref {
namespace {

double Silu(double x) { return x / (1.0 + std::exp(-x)); }

// torch.nn.functional.softplus with beta = 1, threshold = 20.
double Softplus(double x) { return x > 20.0 ? x : std::log1p(std::exp(x)); }

}  // namespace

void CausalConv1dSilu(const float* x, const float* weight, const float* bias,
                      const SsmConvShape& shape, float* conv_state, float* out) {
  const int64_t T = shape.num_tokens, channels = shape.channels, K = shape.kernel_size;
  const int64_t x_stride = shape.x_stride > 0 ? shape.x_stride : channels;
  if (T <= 0) return;
  for (int64_t c = 0; c < channels; ++c) {
    // xin = the K-1 remembered inputs, then this chunk's T inputs.
    std::vector<double> xin;
    for (int64_t s = 0; s < K - 1; ++s) xin.push_back(conv_state[c * (K - 1) + s]);
    for (int64_t t = 0; t < T; ++t) xin.push_back(x[t * x_stride + c]);
    for (int64_t t = 0; t < T; ++t) {
      double y = bias ? double(bias[c]) : 0.0;
      for (int64_t i = 0; i < K; ++i) y += double(weight[c * K + i]) * xin[t + i];
      out[t * channels + c] = float(Silu(y));
    }
    for (int64_t s = 0; s < K - 1; ++s) conv_state[c * (K - 1) + s] = float(xin[T + s]);
  }
}

void SelectiveScan(const float* u, const float* dt, const float* dt_bias, const float* A,
                   const float* B, const float* C, const float* D, const float* z,
                   const SelectiveScanShape& shape, float* ssm_state, float* out) {
  const int64_t T = shape.num_tokens, channels = shape.channels, N = shape.state_size;
  const int64_t u_stride = shape.u_stride > 0 ? shape.u_stride : channels;
  const int64_t dt_stride = shape.dt_stride > 0 ? shape.dt_stride : channels;
  const int64_t bc_stride = shape.bc_stride > 0 ? shape.bc_stride : N;
  const int64_t z_stride = shape.z_stride > 0 ? shape.z_stride : channels;
  for (int64_t c = 0; c < channels; ++c) {
    std::vector<double> h(ssm_state + c * N, ssm_state + (c + 1) * N);
    for (int64_t t = 0; t < T; ++t) {
      const double uu = u[t * u_stride + c];
      const double delta = Softplus(double(dt[t * dt_stride + c]) + (dt_bias ? dt_bias[c] : 0.0));
      double y = 0.0;
      for (int64_t n = 0; n < N; ++n) {
        h[n] = std::exp(delta * A[c * N + n]) * h[n] + delta * B[t * bc_stride + n] * uu;
        y += h[n] * C[t * bc_stride + n];
      }
      if (D) y += double(D[c]) * uu;
      if (z) y *= Silu(z[t * z_stride + c]);
      out[t * channels + c] = float(y);
    }
    for (int64_t n = 0; n < N; ++n) ssm_state[c * N + n] = float(h[n]);
  }
}

}  // namespace attnserve::ref

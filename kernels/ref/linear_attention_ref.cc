// Reference causal linear attention (ELU+1, FAVOR+): the test oracle for Backend::LinearAttention.
// Straight from the definition, in double, O(num_tokens²) per head — no chunking, no SIMD:
//
//   out_t = (φ(q_t)·S_prev + Σ_{j<=t} (φ(q_t)·φ(k_j)) v_j) / (φ(q_t)·z_prev + Σ_{j<=t} φ(q_t)·φ(k_j))
//
// with j over this call's tokens and (S_prev, z_prev) the incoming state. FAVOR+ uses the same
// stabilisers as the CPU kernel, so states are interchangeable (kernels/linear_attention.h):
// keys are scaled by e^-c with c the running max of log φ(k) (the state is rescaled when c grows),
// queries by e^-max(W q'); both factors cancel in the ratio. A zero denominator gives out = 0.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ref/reference_ops.h"

namespace attnserve::ref {
namespace {

// FAVOR+ logits of x' = x·sqrt(scale): fills logits f64[m] with (W x')_i and returns |x'|², so
// log φ(x)_i = logits_i - |x'|²/2 - log(m)/2.
double FavorLogits(const float* x, const LinearAttentionShape& s, double* logits) {
  const int64_t d = s.head_dim;
  const double root = std::sqrt(double(s.scale));
  double norm2 = 0.0;
  for (int64_t p = 0; p < d; ++p) norm2 += (x[p] * root) * (x[p] * root);
  for (int64_t i = 0; i < s.num_features; ++i) {
    double dot = 0.0;
    for (int64_t p = 0; p < d; ++p) dot += double(s.projection[i * d + p]) * (x[p] * root);
    logits[i] = dot;
  }
  return norm2;
}

// ELU+1 features of x': phi f64[d].
void EluPlusOne(const float* x, const LinearAttentionShape& s, double* phi) {
  const double root = std::sqrt(double(s.scale));
  for (int64_t p = 0; p < s.head_dim; ++p) {
    const double y = x[p] * root;
    phi[p] = y > 0.0 ? y + 1.0 : std::exp(y);
  }
}

// Query features up to a positive factor (which cancels): phi f64[m].
void QueryFeatures(const float* q, const LinearAttentionShape& s, double* phi) {
  if (s.feature_map == FeatureMap::kEluPlusOne) return EluPlusOne(q, s, phi);
  FavorLogits(q, s, phi);
  const double top = *std::max_element(phi, phi + s.num_features);
  for (int64_t i = 0; i < s.num_features; ++i) phi[i] = std::exp(phi[i] - top);
}

}  // namespace

// q, out f32[num_tokens, num_heads, head_dim]; k, v f32[num_tokens, kv_stride];
// state f32[LinearStateFloats(num_kv_heads, num_features, head_dim)], updated in place.
void LinearAttention(const float* q, const float* k, const float* v,
                     const LinearAttentionShape& shape, float* state, float* out) {
  const int64_t n = shape.num_tokens, heads = shape.num_heads, kv_heads = shape.num_kv_heads;
  const int64_t d = shape.head_dim, m = shape.num_features, stride = shape.kv_stride;
  const int64_t group = heads / kv_heads;
  const int64_t record = m * d + m + 1;
  const bool favor = shape.feature_map == FeatureMap::kFavorPositive;
  const double log_norm = 0.5 * std::log(double(m));  // φ carries 1/sqrt(m)

  std::vector<double> phi_k(n * m);             // f64[n, m]: key features · e^-c_new
  std::vector<double> s_prev(m * d), z_prev(m);  // incoming state · e^-c_new
  std::vector<double> phi_q(m), num(d);
  for (int64_t g = 0; g < kv_heads; ++g) {
    float* s_state = state + g * record;
    float* z_state = s_state + m * d;
    float* c_state = z_state + m;
    const float* k_head = k + g * d;
    const float* v_head = v + g * d;

    // Key features of the chunk, and the common scale e^-c_new for the old state and the chunk.
    double prev_factor = 1.0;
    if (favor) {
      double c_new = double(*c_state);
      for (int64_t j = 0; j < n; ++j) {
        double* row = &phi_k[j * m];
        const double norm2 = FavorLogits(k_head + j * stride, shape, row);
        for (int64_t i = 0; i < m; ++i) {
          row[i] -= 0.5 * norm2 + log_norm;  // log φ(k_j)_i
          c_new = std::max(c_new, row[i]);
        }
      }
      for (double& x : phi_k) x = std::exp(x - c_new);
      prev_factor = std::isinf(*c_state) ? 0.0 : std::exp(double(*c_state) - c_new);
      if (n > 0) *c_state = float(c_new);
      // The float-rounded c is what the state is relative to from now on.
      const double c_stored = double(*c_state);
      if (n > 0) {
        for (double& x : phi_k) x *= std::exp(c_new - c_stored);
        prev_factor *= std::exp(c_new - c_stored);
      }
    } else {
      for (int64_t j = 0; j < n; ++j) EluPlusOne(k_head + j * stride, shape, &phi_k[j * m]);
    }
    for (int64_t i = 0; i < m * d; ++i) s_prev[i] = s_state[i] * prev_factor;
    for (int64_t i = 0; i < m; ++i) z_prev[i] = z_state[i] * prev_factor;

    for (int64_t hg = 0; hg < group; ++hg) {
      const int64_t h = g * group + hg;
      for (int64_t t = 0; t < n; ++t) {
        QueryFeatures(q + (t * heads + h) * d, shape, phi_q.data());
        double den = 0.0;
        std::fill(num.begin(), num.end(), 0.0);
        for (int64_t i = 0; i < m; ++i) {
          den += phi_q[i] * z_prev[i];
          for (int64_t p = 0; p < d; ++p) num[p] += phi_q[i] * s_prev[i * d + p];
        }
        for (int64_t j = 0; j <= t; ++j) {
          double a = 0.0;
          for (int64_t i = 0; i < m; ++i) a += phi_q[i] * phi_k[j * m + i];
          den += a;
          for (int64_t p = 0; p < d; ++p) num[p] += a * v_head[j * stride + p];
        }
        float* o = out + (t * heads + h) * d;
        for (int64_t p = 0; p < d; ++p) o[p] = den > 0.0 ? float(num[p] / den) : 0.0f;
      }
    }

    // State update: S = S_prev + Σ_j φ(k_j) v_jᵀ, z = z_prev + Σ_j φ(k_j) (all · e^-c).
    for (int64_t j = 0; j < n; ++j) {
      for (int64_t i = 0; i < m; ++i) {
        z_prev[i] += phi_k[j * m + i];
        for (int64_t p = 0; p < d; ++p) s_prev[i * d + p] += phi_k[j * m + i] * v_head[j * stride + p];
      }
    }
    for (int64_t i = 0; i < m * d; ++i) s_state[i] = float(s_prev[i]);
    for (int64_t i = 0; i < m; ++i) z_state[i] = float(z_prev[i]);
  }
}

}  // namespace attnserve::ref

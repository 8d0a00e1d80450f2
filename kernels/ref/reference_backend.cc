// ReferenceBackend: naive, obviously-correct, single-threaded implementations of every Backend op.
// It is the oracle the tests compare the fast backends against: plain loops, double accumulation
// wherever it is cheap, libm transcendental functions in double. Never used for serving.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/ref/reference_backend.h"
#include "kernels/dtype_convert.h"
#include "kernels/ref/reference_ops.h"

namespace attnserve {
namespace {

class ReferenceBackend final : public Backend {
 public:
  std::string_view name() const override { return "reference"; }

  std::unique_ptr<Backend> WithThreads(int) const override { return MakeReferenceBackend(); }

  // x f32[m, k], w f32[n, k], bias f32[n] or null, y f32[m, n].
  void Linear(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k) override {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) {
        double acc = bias != nullptr ? bias[j] : 0.0;
        for (int64_t p = 0; p < k; ++p) acc += double(x[i * k + p]) * double(w[j * k + p]);
        y[i * n + j] = float(acc);
      }
    }
  }

  // The weight widened to f32 (exact for every dtype), then the f32 Linear above: the oracle for
  // the typed kernels, whose own rounding (q8_0 activations on the CPU) is what the tests bound.
  void Linear(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m) override {
    std::vector<float> wide(static_cast<size_t>(w.rows * w.cols));
    ConvertToF32(w.dtype, w.data, wide.data(), wide.size());
    Linear(x, wide.data(), bias, y, m, w.rows, w.cols);
  }

  void Linears(const float* x, int64_t m, std::span<const LinearOutput> outputs) override {
    for (const LinearOutput& o : outputs) Linear(x, o.w, o.bias, o.y, m);
  }

  void GetRows(const WeightMatrix& table, const int32_t* ids, int64_t n, float* out) override {
    for (int64_t i = 0; i < n; ++i) ConvertToF32(table.dtype, table.row(ids[i]), out + i * table.cols, table.cols);
  }

  // x, y f32[rows, dim]; weight f32[dim].
  void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim,
               float eps) override {
    for (int64_t r = 0; r < rows; ++r) {
      double ss = 0.0;
      for (int64_t i = 0; i < dim; ++i) ss += double(x[r * dim + i]) * double(x[r * dim + i]);
      const double inv = 1.0 / std::sqrt(ss / double(dim) + double(eps));
      for (int64_t i = 0; i < dim; ++i) {
        y[r * dim + i] = float(double(x[r * dim + i]) * inv * double(weight[i]));
      }
    }
  }

  // x, y f32[rows, dim]; weight, bias f32[dim]. Two-pass mean / biased variance in double.
  void LayerNorm(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t dim,
                 float eps) override {
    for (int64_t r = 0; r < rows; ++r) {
      const float* xr = x + r * dim;
      double mean = 0.0;
      for (int64_t i = 0; i < dim; ++i) mean += xr[i];
      mean /= double(dim);
      double var = 0.0;
      for (int64_t i = 0; i < dim; ++i) var += (xr[i] - mean) * (xr[i] - mean);
      const double inv = 1.0 / std::sqrt(var / double(dim) + double(eps));
      for (int64_t i = 0; i < dim; ++i) y[r * dim + i] = float((xr[i] - mean) * inv * weight[i] + bias[i]);
    }
  }

  // x f32[num_tokens, num_heads, head_dim]; cos, sin f32[num_tokens, head_dim/2].
  void ApplyRope(float* x, const float* cos, const float* sin, int64_t num_tokens,
                 int64_t num_heads, int64_t head_dim) override {
    const int64_t half = head_dim / 2;
    for (int64_t t = 0; t < num_tokens; ++t) {
      for (int64_t h = 0; h < num_heads; ++h) {
        float* v = x + (t * num_heads + h) * head_dim;
        for (int64_t i = 0; i < half; ++i) {
          const double c = cos[t * half + i], s = sin[t * half + i];
          const double a = v[i], b = v[i + half];
          v[i] = float(a * c - b * s);
          v[i + half] = float(b * c + a * s);
        }
      }
    }
  }

  // gate, up, out f32[n].
  void SiluMul(const float* gate, const float* up, float* out, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) {
      const double g = gate[i];
      out[i] = float(g / (1.0 + std::exp(-g)) * double(up[i]));
    }
  }

  // x, y f32[n]: BLOOM's formula as written, in double.
  void GeluTanh(const float* x, float* y, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) {
      const double v = x[i];
      y[i] = float(v * 0.5 * (1.0 + std::tanh(0.79788456 * v * (1.0 + 0.044715 * v * v))));
    }
  }

  // y, x f32[n].
  void AddInPlace(float* y, const float* x, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  }

  // q, out f32[num_q, num_heads, head_dim]; k, v f32[num_kv, kv_stride].
  void CausalAttention(const float* q, const float* k, const float* v, float* out, int64_t num_q,
                       int64_t num_kv, int64_t num_heads, int64_t num_kv_heads, int64_t head_dim,
                       int64_t kv_stride, float scale) override {
    const int32_t block0 = 0;
    PagedAttention(q, {k, v, &block0, std::max<int64_t>(num_kv, 1)},
                   {num_q, num_kv, num_heads, num_kv_heads, head_dim, kv_stride, scale},
                   AttentionMask{}, out);
  }

  // Dense masked softmax in double: every (query, key) pair is tested with Visible(); ALiBi adds
  // slope[h]·(t − pos) to the scaled logit.
  void PagedAttention(const float* q, const PagedKvView& kv, const AttentionShape& shape,
                      const AttentionMask& mask, float* out) override {
    const int64_t num_q = shape.num_q, num_kv = shape.num_kv, num_heads = shape.num_heads;
    const int64_t head_dim = shape.head_dim, bs = kv.block_size;
    const int64_t group = num_heads / shape.num_kv_heads;
    auto row = [&](const float* pool, int64_t t) {
      return pool + (kv.block_table[t / bs] * bs + t % bs) * shape.kv_stride;
    };
    std::vector<double> scores(num_kv);
    std::vector<char> seen(num_kv);
    for (int64_t i = 0; i < num_q; ++i) {
      const int64_t pos = num_kv - num_q + i;
      for (int64_t h = 0; h < num_heads; ++h) {
        const float* qh = q + (i * num_heads + h) * head_dim;
        const int64_t koff = (h / group) * head_dim;
        const double slope = shape.alibi_slopes != nullptr ? shape.alibi_slopes[h] : 0.0;
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t t = 0; t <= pos; ++t) {
          seen[t] = Visible(mask, i, h, num_heads, pos, t);
          if (!seen[t]) continue;
          double s = 0.0;
          for (int64_t d = 0; d < head_dim; ++d) s += double(qh[d]) * double(row(kv.k_pool, t)[koff + d]);
          scores[t] = s * double(shape.scale) + slope * double(t - pos);
          mx = std::max(mx, scores[t]);
        }
        double sum = 0.0;
        for (int64_t t = 0; t <= pos; ++t)
          if (seen[t]) sum += (scores[t] = std::exp(scores[t] - mx));
        float* o = out + (i * num_heads + h) * head_dim;
        for (int64_t d = 0; d < head_dim; ++d) {
          double acc = 0.0;
          for (int64_t t = 0; t <= pos; ++t)
            if (seen[t]) acc += scores[t] * double(row(kv.v_pool, t)[koff + d]);
          o[d] = float(acc / sum);
        }
      }
    }
  }

  void UpdateKeySummaries(const PagedKvView& kv, int64_t kv_stride, int64_t first_pos,
                          int64_t num_pos, float* summaries) override {
    ref::UpdateKeySummaries(kv, kv_stride, first_pos, num_pos, summaries);
  }

  void QuestSelect(const float* q, const PagedKvView& kv, const float* summaries,
                   const AttentionShape& shape, int64_t top_k, int64_t window,
                   int32_t* selected) override {
    ref::QuestSelect(q, kv, summaries, shape, top_k, window, selected);
  }

  void LinearAttention(const float* q, const float* k, const float* v,
                       const LinearAttentionShape& shape, float* state, float* out) override {
    ref::LinearAttention(q, k, v, shape, state, out);
  }

  void CausalConv1dSilu(const float* x, const float* weight, const float* bias,
                        const SsmConvShape& shape, float* conv_state, float* out) override {
    ref::CausalConv1dSilu(x, weight, bias, shape, conv_state, out);
  }

  void SelectiveScan(const float* u, const float* dt, const float* dt_bias, const float* A,
                     const float* B, const float* C, const float* D, const float* z,
                     const SelectiveScanShape& shape, float* ssm_state, float* out) override {
    ref::SelectiveScan(u, dt, dt_bias, A, B, C, D, z, shape, ssm_state, out);
  }

  void SsdScan(const float* x, const float* dt, const float* dt_bias, const float* A, const float* B,
               const float* C, const float* D, const SsdShape& shape, float* state,
               float* out) override {
    ref::SsdScan(x, dt, dt_bias, A, B, C, D, shape, state, out);
  }

  void GatedRmsNorm(const float* x, const float* z, const float* weight,
                    const GatedRmsNormShape& shape, float* out) override {
    ref::GatedRmsNorm(x, z, weight, shape, out);
  }

  // x, y f32[rows, n].
  void LogSoftmax(const float* x, float* y, int64_t rows, int64_t n) override {
    for (int64_t r = 0; r < rows; ++r) {
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t i = 0; i < n; ++i) mx = std::max(mx, double(x[r * n + i]));
      double sum = 0.0;
      for (int64_t i = 0; i < n; ++i) sum += std::exp(double(x[r * n + i]) - mx);
      const double lse = mx + std::log(sum);
      for (int64_t i = 0; i < n; ++i) y[r * n + i] = float(double(x[r * n + i]) - lse);
    }
  }
};

}  // namespace

std::unique_ptr<Backend> MakeReferenceBackend() { return std::make_unique<ReferenceBackend>(); }

}  // namespace attnserve

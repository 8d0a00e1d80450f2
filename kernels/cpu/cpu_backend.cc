// CpuBackend: the Backend of kernels/backend.h on x86 CPUs (AVX2+FMA floor), parallel over
// num_threads cores with one OpenMP team. Each op is a thin forward to its kernel file:
//   Linear -> linear.cc (own GEMV / OpenBLAS / own GEMM, chosen per shape); typed weights ->
//            linear_typed.cc (fused bf16/f16/q8_0/q4_0 kernels, or f32 tiles for prefill)
//   RmsNorm, LayerNorm, ApplyRope, SiluMul, GeluTanh, AddInPlace, LogSoftmax -> elementwise.cc
//   CausalAttention, PagedAttention (tiled, masked) -> attention.cc
//   UpdateKeySummaries, QuestSelect -> quest.cc;  LinearAttention -> linear_attention.cc
//   CausalConv1dSilu, SelectiveScan -> ssm.cc;  SsdScan, GatedRmsNorm -> ssd.cc
// OpenBLAS is kept single-threaded so OpenMP is the only thread pool (no oversubscription).
#include <omp.h>

#include <algorithm>

#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_typed.h"
#include "kernels/dtype_convert.h"
#include "kernels/cpu/linear_attention.h"
#include "kernels/cpu/quest.h"

namespace attnserve {
namespace {

class CpuBackend final : public Backend {
 public:
  CpuBackend(int num_threads, bool quantize_activations)
      : num_threads_(num_threads > 0 ? num_threads : std::max(1, omp_get_max_threads())),
        quantize_activations_(quantize_activations) {
    cpu::SetBlasThreads(1);
  }

  std::string_view name() const override { return "cpu"; }

  std::unique_ptr<Backend> WithThreads(int num_threads) const override {
    return MakeCpuBackend(num_threads, quantize_activations_);
  }

  void Linear(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k) override {
    cpu::LinearParallel(cpu::LinearKernel::kAuto, num_threads_, x, w, bias, y, m, n, k);
  }

  void Linear(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m) override {
    const LinearOutput out{w, bias, y};
    cpu::LinearMultiParallel(num_threads_, quantize_activations_, x, m, {&out, 1});
  }

  void Linears(const float* x, int64_t m, std::span<const LinearOutput> outputs) override {
    cpu::LinearMultiParallel(num_threads_, quantize_activations_, x, m, outputs);
  }

  void GetRows(const WeightMatrix& table, const int32_t* ids, int64_t n, float* out) override {
    for (int64_t i = 0; i < n; ++i) ConvertToF32(table.dtype, table.row(ids[i]), out + i * table.cols, table.cols);
  }

  void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim,
               float eps) override {
    cpu::RmsNorm(num_threads_, x, weight, y, rows, dim, eps);
  }

  void LayerNorm(const float* x, const float* weight, const float* bias, float* y, int64_t rows, int64_t dim,
                 float eps) override {
    cpu::LayerNorm(num_threads_, x, weight, bias, y, rows, dim, eps);
  }

  void ApplyRope(float* x, const float* cos, const float* sin, int64_t num_tokens,
                 int64_t num_heads, int64_t head_dim) override {
    cpu::ApplyRope(num_threads_, x, cos, sin, num_tokens, num_heads, head_dim);
  }

  void SiluMul(const float* gate, const float* up, float* out, int64_t n) override {
    cpu::SiluMul(num_threads_, gate, up, out, n);
  }

  void GeluTanh(const float* x, float* y, int64_t n) override { cpu::GeluTanh(num_threads_, x, y, n); }

  void AddInPlace(float* y, const float* x, int64_t n) override {
    cpu::AddInPlace(num_threads_, y, x, n);
  }

  void CausalAttention(const float* q, const float* k, const float* v, float* out, int64_t num_q,
                       int64_t num_kv, int64_t num_heads, int64_t num_kv_heads, int64_t head_dim,
                       int64_t kv_stride, float scale) override {
    cpu::CausalAttention(num_threads_, q, k, v, out, num_q, num_kv, num_heads, num_kv_heads,
                         head_dim, kv_stride, scale);
  }

  void PagedAttention(const float* q, const PagedKvView& kv, const AttentionShape& shape,
                      const AttentionMask& mask, float* out) override {
    cpu::PagedAttention(num_threads_, q, kv, shape, mask, out);
  }

  void UpdateKeySummaries(const PagedKvView& kv, int64_t kv_stride, int64_t first_pos,
                          int64_t num_pos, float* summaries) override {
    cpu::UpdateKeySummaries(num_threads_, kv, kv_stride, first_pos, num_pos, summaries);
  }

  void QuestSelect(const float* q, const PagedKvView& kv, const float* summaries,
                   const AttentionShape& shape, int64_t top_k, int64_t window,
                   int32_t* selected) override {
    cpu::QuestSelect(num_threads_, q, kv, summaries, shape, top_k, window, selected);
  }

  void LinearAttention(const float* q, const float* k, const float* v,
                       const LinearAttentionShape& shape, float* state, float* out) override {
    cpu::LinearAttention(num_threads_, q, k, v, shape, state, out);
  }

  void CausalConv1dSilu(const float* x, const float* weight, const float* bias,
                        const SsmConvShape& shape, float* conv_state, float* out) override {
    cpu::CausalConv1dSilu(num_threads_, x, weight, bias, shape, conv_state, out);
  }

  void SelectiveScan(const float* u, const float* dt, const float* dt_bias, const float* A,
                     const float* B, const float* C, const float* D, const float* z,
                     const SelectiveScanShape& shape, float* ssm_state, float* out) override {
    cpu::SelectiveScan(num_threads_, u, dt, dt_bias, A, B, C, D, z, shape, ssm_state, out);
  }

  void SsdScan(const float* x, const float* dt, const float* dt_bias, const float* A, const float* B,
               const float* C, const float* D, const SsdShape& shape, float* state,
               float* out) override {
    cpu::SsdScan(num_threads_, x, dt, dt_bias, A, B, C, D, shape, state, out);
  }

  void GatedRmsNorm(const float* x, const float* z, const float* weight,
                    const GatedRmsNormShape& shape, float* out) override {
    cpu::GatedRmsNorm(num_threads_, x, z, weight, shape, out);
  }

  void LogSoftmax(const float* x, float* y, int64_t rows, int64_t n) override {
    cpu::LogSoftmax(num_threads_, x, y, rows, n);
  }

 private:
  const int num_threads_;
  const bool quantize_activations_;
};

}  // namespace

std::unique_ptr<Backend> MakeCpuBackend(int num_threads, bool quantize_activations) {
  return std::make_unique<CpuBackend>(num_threads, quantize_activations);
}

}  // namespace attnserve

// Backend: the compute device seen by the model graph. CPU implements it today (kernels/cpu);
// CUDA implements the same interface later (kernels/cuda). All tensors are row-major f32 unless
// stated; pointers are device pointers of this backend. Calls are synchronous from the caller's
// view and are issued from one thread (the engine thread); a backend parallelises internally.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

namespace attnserve {

// Shape of one sequence's attention call.
struct AttentionShape {
  int64_t num_q = 0;         // queries: the last num_q positions of num_kv
  int64_t num_kv = 0;        // keys/values 0 .. num_kv-1
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // num_heads % num_kv_heads == 0 (grouped-query attention)
  int64_t head_dim = 0;
  int64_t kv_stride = 0;     // floats per key row (>= num_kv_heads * head_dim)
  float scale = 1.0f;
  // > 0: sliding window (Mistral / HF `sliding_window`): the query at position p sees keys
  // max(0, p - window + 1) .. p only. 0: full causal attention.
  int64_t window = 0;
};

// Keys and values of one sequence in a paged pool (design.md §3, PagedKv):
//
//   pool f32[num_blocks, block_size, kv_stride]; block_table int32[ceil(num_kv / block_size)]
//   key t lives in row  block_table[t / block_size] * block_size + t % block_size
//
// A contiguous cache is the special case block_table = {0}, block_size >= num_kv.
struct PagedKvView {
  const float* k_pool = nullptr;
  const float* v_pool = nullptr;
  const int32_t* block_table = nullptr;
  int64_t block_size = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string_view name() const = 0;

  // y f32[m, n] = x f32[m, k] · w f32[n, k]^T (+ bias f32[n] when bias != nullptr).
  // w is in Hugging Face nn.Linear layout [out_features, in_features]. y must not alias x.
  virtual void Linear(const float* x, const float* w, const float* bias, float* y, int64_t m,
                      int64_t n, int64_t k) = 0;

  // HF LlamaRMSNorm: y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * weight[:].
  // x, y f32[rows, dim] (may alias); weight f32[dim].
  virtual void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim,
                       float eps) = 0;

  // Rotary embedding in place, HF "rotate_half" layout (pairs i and i + head_dim/2):
  //   x'[i] = x[i]*cos[i] - x[i+h]*sin[i];  x'[i+h] = x[i+h]*cos[i] + x[i]*sin[i]   (h = head_dim/2)
  // x f32[num_tokens, num_heads, head_dim]; cos, sin f32[num_tokens, head_dim/2].
  virtual void ApplyRope(float* x, const float* cos, const float* sin, int64_t num_tokens,
                         int64_t num_heads, int64_t head_dim) = 0;

  // out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)). gate, up, out f32[n]; out may alias.
  virtual void SiluMul(const float* gate, const float* up, float* out, int64_t n) = 0;

  // y[i] += x[i]. x, y f32[n].
  virtual void AddInPlace(float* y, const float* x, int64_t n) = 0;

  // Causal grouped-query attention of one sequence against its cached keys/values.
  // q   f32[num_q, num_heads, head_dim]: the queries at positions num_kv-num_q .. num_kv-1
  // k,v f32[num_kv, kv_stride] rows; head h reads k[t*kv_stride + (h / (num_heads/num_kv_heads))*head_dim ...]
  // out f32[num_q, num_heads, head_dim]
  // Query i (absolute position p = num_kv - num_q + i) attends to keys 0..p with softmax(scale·q·k).
  virtual void CausalAttention(const float* q, const float* k, const float* v, float* out,
                               int64_t num_q, int64_t num_kv, int64_t num_heads,
                               int64_t num_kv_heads, int64_t head_dim, int64_t kv_stride,
                               float scale) = 0;

  // The same causal GQA attention with keys/values read through a block table.
  // q f32[num_q, num_heads, head_dim]; out f32[num_q, num_heads, head_dim].
  virtual void PagedAttention(const float* q, const PagedKvView& kv, const AttentionShape& shape,
                              float* out) = 0;

  // Row-wise log-softmax: y f32[rows, n] = x - logsumexp(x). May alias.
  virtual void LogSoftmax(const float* x, float* y, int64_t rows, int64_t n) = 0;
};

// The CPU backend (AVX2+FMA, multithreaded over num_threads cores; 0 = all cores).
std::unique_ptr<Backend> MakeCpuBackend(int num_threads);

// The naive single-threaded reference of every op, for tests.
std::unique_ptr<Backend> MakeReferenceBackend();

}  // namespace attnserve

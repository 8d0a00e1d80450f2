// Backend: the compute device seen by the model graph. CPU implements it today (kernels/cpu);
// CUDA implements the same interface later (kernels/cuda). All tensors are row-major f32 unless
// stated; pointers are device pointers of this backend. Calls are synchronous from the caller's
// view and are issued from one thread (the engine thread); a backend parallelises internally.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "kernels/attention_mask.h"
#include "kernels/linear_attention.h"
#include "kernels/linear_output.h"
#include "kernels/ssd.h"
#include "kernels/ssm.h"
#include "kernels/weight_matrix.h"

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
  // ALiBi (kernels/alibi.h): f32[num_heads] slope per query head (not owned); null = no bias.
  // The logit of query position p, key position k in head h becomes
  //   scale·q·k + alibi_slopes[h]·(k − p)        (k − p <= 0: farther keys are penalised)
  // HF BLOOM adds slope·k and MPT slope·(k − (max_seq_len − 1)) instead: both differ from this
  // by a constant per query row, which softmax cancels (and k − p keeps f32 logits small).
  const float* alibi_slopes = nullptr;
};

// Keys and values of one sequence in a paged pool (docs/architecture.md, PagedKv):
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

  // A new backend of the same device and options with its own `num_threads` compute threads
  // (MoE expert workers: one per shard, or one single-threaded per expert).
  virtual std::unique_ptr<Backend> WithThreads(int num_threads) const = 0;

  // y f32[m, n] = x f32[m, k] · w f32[n, k]^T (+ bias f32[n] when bias != nullptr).
  // w is in Hugging Face nn.Linear layout [out_features, in_features]. y must not alias x.
  virtual void Linear(const float* x, const float* w, const float* bias, float* y, int64_t m,
                      int64_t n, int64_t k) = 0;

  // y f32[m, w.rows] = x f32[m, w.cols] · w^T (+ bias f32[w.rows] when non-null), w in any dtype
  // (kernels/weight_matrix.h). Activations stay f32; how a weight dtype is multiplied is the
  // backend's choice (the CPU multiplies q8_0 / q4_0 weights with x quantized to int8 blocks at
  // small m, as llama.cpp does, unless made with quantize_activations = false), so results match
  // the f32 reference on the widened weight within the dtype's tolerance
  // (tests/kernels/typed_linear_test.cc). y must not alias x.
  virtual void Linear(const float* x, const WeightMatrix& w, const float* bias, float* y,
                      int64_t m) = 0;

  // Several Linears over the same x f32[m, k] (every outputs[i].w.cols == k), each as Linear above,
  // in one call: a layer's q/k/v or gate/up projections share one thread team, and the CPU
  // quantizes x once for all of them. No output may alias x or another output.
  virtual void Linears(const float* x, int64_t m, std::span<const LinearOutput> outputs) = 0;

  // Embedding lookup: out f32[n, table.cols] row i = table row ids[i] widened to f32.
  // ids int32[n], each in [0, table.rows).
  virtual void GetRows(const WeightMatrix& table, const int32_t* ids, int64_t n, float* out) = 0;

  // HF LlamaRMSNorm: y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * weight[:].
  // x, y f32[rows, dim] (may alias); weight f32[dim].
  virtual void RmsNorm(const float* x, const float* weight, float* y, int64_t rows, int64_t dim,
                       float eps) = 0;

  // HF nn.LayerNorm over the last dim (biased variance):
  //   y[r, :] = (x[r, :] - mean) * rsqrt(mean((x[r, :] - mean)^2) + eps) * weight[:] + bias[:].
  // x, y f32[rows, dim] (may alias); weight, bias f32[dim].
  virtual void LayerNorm(const float* x, const float* weight, const float* bias, float* y, int64_t rows,
                         int64_t dim, float eps) = 0;

  // Rotary embedding in place, HF "rotate_half" layout (pairs i and i + head_dim/2):
  //   x'[i] = x[i]*cos[i] - x[i+h]*sin[i];  x'[i+h] = x[i+h]*cos[i] + x[i]*sin[i]   (h = head_dim/2)
  // x f32[num_tokens, num_heads, head_dim]; cos, sin f32[num_tokens, head_dim/2].
  virtual void ApplyRope(float* x, const float* cos, const float* sin, int64_t num_tokens,
                         int64_t num_heads, int64_t head_dim) = 0;

  // out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)). gate, up, out f32[n]; out may
  // alias.
  virtual void SiluMul(const float* gate, const float* up, float* out, int64_t n) = 0;

  // GELU, tanh approximation (BLOOM's bloom_gelu_forward, HF "gelu_new" / "gelu_pytorch_tanh"):
  //   y[i] = 0.5·x·(1 + tanh(0.79788456·x·(1 + 0.044715·x²))). x, y f32[n] (may alias).
  virtual void GeluTanh(const float* x, float* y, int64_t n) = 0;

  // y[i] += x[i]. x, y f32[n].
  virtual void AddInPlace(float* y, const float* x, int64_t n) = 0;

  // Causal grouped-query attention of one sequence against its cached keys/values.
  // q   f32[num_q, num_heads, head_dim]: the queries at positions num_kv-num_q .. num_kv-1
  // k,v f32[num_kv, kv_stride] rows; head h reads k[t*kv_stride + (h /
  // (num_heads/num_kv_heads))*head_dim ...] out f32[num_q, num_heads, head_dim]
  // Query i (absolute position p = num_kv - num_q + i) attends to keys 0..p with
  // softmax(scale·q·k).
  virtual void CausalAttention(const float* q, const float* k, const float* v, float* out,
                               int64_t num_q, int64_t num_kv, int64_t num_heads,
                               int64_t num_kv_heads, int64_t head_dim, int64_t kv_stride,
                               float scale) = 0;

  // Causal GQA attention with keys/values read through a block table, restricted by `mask`
  // (kernels/attention_mask.h: full, sliding window, sinks, segments, Longformer, BigBird, block
  // list), with the ALiBi bias of shape.alibi_slopes when set (every mask kind).
  // q f32[num_q, num_heads, head_dim]; out f32[num_q, num_heads, head_dim].
  // Only blocks holding keys some query can see are read (others may be -1 in the table).
  // Memory O(num_q + num_kv) beyond q/out: no [num_q, num_kv] matrix is materialised.
  virtual void PagedAttention(const float* q, const PagedKvView& kv, const AttentionShape& shape,
                              const AttentionMask& mask, float* out) = 0;

  // Quest key summaries: for each block of the sequence that holds a position in
  // [first_pos, first_pos + num_pos), recompute its element-wise min and max over the keys
  // written so far (positions up to first_pos + num_pos - 1):
  //   summaries f32[pool num_blocks, 2, kv_stride]  (row 0 min, row 1 max), indexed by the
  //   physical block number block_table[pos / block_size].
  virtual void UpdateKeySummaries(const PagedKvView& kv, int64_t kv_stride, int64_t first_pos,
                                  int64_t num_pos, float* summaries) = 0;

  // Quest selection: for each query row i (position p = num_kv - num_q + i) and head h, the
  // top_k logical blocks (of kv.block_size tokens) with the largest upper bound
  //   Σ_d max(q_d·min_d, q_d·max_d)   (min/max of the head's key columns, from summaries)
  // among blocks that hold a key <= p - window (i.e. not wholly inside the local window).
  // Ties go to the lower block index; shape.alibi_slopes is ignored (the bound is of q·k only).
  // selected int32[num_q, num_heads, top_k], ascending, -1 padded when fewer candidates exist.
  // Feed to PagedAttention with MaskKind::kBlockList.
  virtual void QuestSelect(const float* q, const PagedKvView& kv, const float* summaries,
                           const AttentionShape& shape, int64_t top_k, int64_t window,
                           int32_t* selected) = 0;

  // Causal linear attention (kernels/linear_attention.h) of one chunk of a sequence, continuing
  // from `state` (the layer's RecurrentState, updated in place to include the chunk):
  //   q, out f32[num_tokens, num_heads, head_dim]; k, v f32[num_tokens, kv_stride]
  //   state f32[LinearStateFloats(num_kv_heads, num_features, head_dim)]
  virtual void LinearAttention(const float* q, const float* k, const float* v,
                               const LinearAttentionShape& shape, float* state, float* out) = 0;

  // Mamba mixer, causal depthwise conv1d + SiLU over a chunk, continuing from conv_state
  // f32[channels, K-1] (updated). Contract and layouts: kernels/ssm.h (CausalConv1dSilu).
  virtual void CausalConv1dSilu(const float* x, const float* weight, const float* bias,
                                const SsmConvShape& shape, float* conv_state, float* out) = 0;

  // Mamba selective scan over a chunk, continuing from ssm_state f32[channels, N] (updated).
  // Contract and layouts: kernels/ssm.h (SelectiveScan).
  virtual void SelectiveScan(const float* u, const float* dt, const float* dt_bias, const float* A,
                             const float* B, const float* C, const float* D, const float* z,
                             const SelectiveScanShape& shape, float* ssm_state, float* out) = 0;

  // Mamba-2 scan (SSD) over a chunk, continuing from state f32[num_heads, head_dim, state_size]
  // (updated). Contract and layouts: kernels/ssd.h (SsdScan).
  virtual void SsdScan(const float* x, const float* dt, const float* dt_bias, const float* A,
                       const float* B, const float* C, const float* D, const SsdShape& shape,
                       float* state, float* out) = 0;

  // Mamba-2 gated grouped RMSNorm (HF MambaRMSNormGated): out f32[rows, dim] may alias x.
  // Contract and layouts: kernels/ssd.h (GatedRmsNorm).
  virtual void GatedRmsNorm(const float* x, const float* z, const float* weight,
                            const GatedRmsNormShape& shape, float* out) = 0;

  // Row-wise log-softmax: y f32[rows, n] = x - logsumexp(x). May alias.
  virtual void LogSoftmax(const float* x, float* y, int64_t rows, int64_t n) = 0;
};

// Backends are made by MakeBackend (kernels/backend_registry.h).

}  // namespace attnserve

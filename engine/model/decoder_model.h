// Folder engine/model/: the model itself — the decoder forward pass and where the model comes from
// (model_source: an HF directory or a GGUF file). Includes config/, context/, attention/, memory/,
// moe/, ssm/, loader/, tokenizer/.
//
// DecoderModel: the decoder-only stack of every supported architecture — Llama / Mistral /
// Qwen2 (RMSNorm, RoPE, grouped-query attention with optional q/k/v bias, SiLU-gated MLP,
// optionally tied embeddings), the MoE Mixtral / Qwen2-MoE, the state-space Mamba / Mamba-2, the
// hybrid Jamba and BLOOM (LayerNorm with bias, ALiBi instead of RoPE, fused per-head QKV, GELU
// MLP) — one pre-norm residual layer list whose LayerSpec picks each layer's mixer (attention,
// Mamba, Mamba-2) and MLP (dense SiLU-gated, GELU, MoE, none). Runs in f32 on a Backend over a
// packed batch: the tokens of every scheduled chunk go through each weight in ONE matmul;
// attention runs per sequence against its own blocks of the paged KV pool (or its linear
// state), with the backend its request's AttentionPlan names for each layer; SSM mixers run per
// sequence from its recurrent-state slot.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/attention/attention_plan.h"
#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine/moe/expert_shards.h"
#include "engine/moe/moe_block.h"
#include "engine/context/context_policy.h"
#include "engine/ssm/mamba2_mixer.h"
#include "engine/ssm/mamba_mixer.h"
#include "engine/memory/paged_kv_pool.h"
#include "kernels/backend.h"

namespace attnserve {

// One sequence's slice of a forward batch.
struct ForwardChunk {
  const int32_t* token_ids = nullptr;  // int32[num_tokens]: tokens at positions start_pos..
  int32_t start_pos = 0;               // tokens before it are already in the KV pool
  int32_t num_tokens = 0;
  const int32_t* block_table = nullptr;  // int32[>= ceil((start_pos + num_tokens) / block_size)]
  bool all_logits = false;             // logits for every token (else: last token only)
  bool want_logits = true;             // false: KV-only chunk (middle of a chunked prefill)
  const AttentionPlan* attention = nullptr;  // per-layer attention (required)
  float* state = nullptr;              // f32[attention->state_floats]: linear layers' recurrent state
  float* ssm_state = nullptr;          // f32[config.ssm_state_floats()]: Mamba layers' states (SSM models)
  const ContextPlan* context = nullptr;  // positions (RoPE frequencies); null = the model's default
};

class DecoderModel {
 public:
  // Loads and shape-checks every tensor named by `config` (errors name tensor, file, shapes).
  // Matrices (embeddings, projections, experts, lm_head) are held in `weight_dtype` (nullopt:
  // each tensor's file dtype, zero-copy); norms, biases and small SSM parameters in f32.
  static absl::StatusOr<std::unique_ptr<DecoderModel>> Load(
      const ModelConfig& config, const WeightStore& weights,
      std::optional<DType> weight_dtype = std::nullopt);

  // Runs the chunks and writes logits f32[num_logit_rows, vocab_size] into `logits`, rows in
  // chunk order (all rows of an all_logits chunk, the last row of a want_logits chunk).
  // Writes the chunks' keys/values into their blocks of `kv`. Returns the number of rows written.
  int64_t Forward(std::span<const ForwardChunk> chunks, PagedKvPool& kv, Backend& backend,
                  std::vector<float>& logits);

  const ModelConfig& config() const { return config_; }
  uint64_t num_parameters() const { return num_parameters_; }
  // The weight matrices' dtype(s) in memory, e.g. "bfloat16" (WeightLoader::MatrixDTypes).
  const std::string& matrix_dtype() const { return matrix_dtype_; }
  // Bytes of all parameters as held in memory (matrices at their dtype, the rest f32), and of
  // the embedding table alone (a decode step reads one row of it unless it is also lm_head).
  uint64_t parameter_bytes() const { return parameter_bytes_; }
  uint64_t embedding_bytes() const { return embed_tokens.matrix.nbytes(); }
  // Parameters one token uses (MoE: the top_k experts of each MoE layer instead of all of them).
  uint64_t num_active_parameters() const { return num_active_parameters_; }

  // MoE models: the workers that hold the experts (not owned; must outlive the model's use).
  // Unset: one shard on the backend passed to Forward.
  void SetExpertShards(ExpertShards* shards) { shards_ = shards; }
  // Cumulative routed tokens per (MoE layer, expert) and per shard; engine thread only.
  const MoeLoad& moe_load() const { return moe_load_; }

 private:
  struct Layer {
    F32Tensor input_norm, post_attention_norm;     // f32[hidden]
    F32Tensor input_norm_bias, post_attention_norm_bias;  // f32[hidden] (LayerNorm models) or empty
    WeightTensor q_proj, k_proj, v_proj, o_proj;   // [out, in], weight dtype
    F32Tensor q_bias, k_bias, v_bias, o_bias;      // f32[out] or empty
    // (BLOOM's fused query_key_value is split into q/k/v_proj at load.)
    WeightTensor gate_proj, up_proj, down_proj;    // [out, in], weight dtype
    F32Tensor gate_bias, up_bias, down_bias;       // f32[out] or empty
    std::unique_ptr<MoeWeights> moe;                // MoE layers (then gate/up/down are empty)
    std::unique_ptr<MambaMixerWeights> mamba;       // Mamba mixer layers (no q/k/v/o)
    std::unique_ptr<Mamba2MixerWeights> mamba2;     // Mamba-2 mixer layers
    int64_t kv_layer = -1;                          // attention layers: index in the KV pool
    int64_t ssm_state_offset = -1;                  // SSM layers: float offset in ForwardChunk::ssm_state
  };
  // Attention mixer of layer L over h_ -> block_out_ (writes the chunks' K/V into kv).
  void AttentionMixer(const Layer& L, int64_t layer_index, std::span<const ForwardChunk> chunks,
                      PagedKvPool& kv, Backend& be, int64_t T);
  ExpertShards& Shards(Backend& backend);
  // y f32[rows, hidden] = the model's norm (RMSNorm, or LayerNorm with `bias`) of x; may alias.
  void Norm(Backend& be, const float* x, const F32Tensor& weight, const F32Tensor& bias, float* y,
            int64_t rows) const;
  explicit DecoderModel(const ModelConfig& config);
  void Resize(int64_t num_tokens);

  ModelConfig config_;
  std::shared_ptr<const ContextPlan> default_context_;  // config.json's rope_scaling
  RopeFrequencies rope_scratch_;        // dynamic-NTK frequencies of one chunk
  WeightTensor embed_tokens;  // [vocab, hidden], weight dtype
  F32Tensor final_norm;    // f32[hidden]
  F32Tensor final_norm_bias, embed_norm, embed_norm_bias;  // f32[hidden] (LayerNorm / BLOOM) or empty
  std::vector<float> alibi_slopes_;  // f32[num_heads]: ALiBi models' per-head slopes, else empty
  WeightTensor lm_head;       // [vocab, hidden], weight dtype (== embed_tokens when tied)
  std::vector<Layer> layers_;
  uint64_t num_parameters_ = 0;
  std::string matrix_dtype_;
  uint64_t parameter_bytes_ = 0;
  uint64_t num_active_parameters_ = 0;
  ExpertShards* shards_ = nullptr;
  std::unique_ptr<ExpertShards> default_shards_;  // N = 1 when none was set
  MoeBlock moe_block_;
  MoeLoad moe_load_;

  // Scratch, grown to the largest batch seen. Shapes for T packed tokens:
  std::vector<float> x_, h_;            // f32[T, hidden]
  std::vector<float> q_, attn_;         // f32[T, q_dim]
  std::vector<float> k_, v_;            // f32[T, kv_dim]
  std::vector<float> gate_, up_;        // f32[T, intermediate] (dense layers)
  std::vector<float> cos_, sin_;        // f32[T, head_dim/2]
  std::vector<int32_t> positions_;      // int32[T]
  std::vector<int32_t> token_ids_;      // int32[T]: the packed tokens, for the embedding lookup
  std::vector<float> logit_rows_;       // f32[R, hidden]: final-normed rows needing logits
  std::vector<int32_t> attention_scratch_;  // Quest's selected blocks
  std::vector<float> block_out_;        // f32[T, hidden]: a mixer's or the MoE block's output
  std::vector<SsmChunk> ssm_chunks_;
  MambaMixer mamba_mixer_;
  Mamba2Mixer mamba2_mixer_;
};

}  // namespace attnserve

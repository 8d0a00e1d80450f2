// Folder engine/config/: what a model is — config.json parsing for every architecture
// (model_config, ssm_model_config, bloom_model_config, config_json's typed key reads) and the
// rope_scaling math. Includes nothing else of engine/.
//
// ModelConfig: the parts of a Hugging Face config.json that the decoder runtime needs
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, the Mixture-of-Experts
// MixtralForCausalLM / Qwen2MoeForCausalLM, the state-space MambaForCausalLM /
// Mamba2ForCausalLM, the hybrid JambaForCausalLM and the ALiBi BloomForCausalLM), validated at
// load. Per-layer LayerSpec says what each layer is made of: its mixer (attention, Mamba, Mamba-2)
// and its MLP (dense, MoE, none), so hybrids are just another layer list.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/rope_scaling.h"

namespace attnserve {

// What one decoder layer is made of (docs/architecture.md): a token mixer — attention (full or
// sliding-window), a Mamba selective scan or a Mamba-2 SSD (ModelConfig::ssm) — and a dense MLP,
// a Mixture-of-Experts block (ModelConfig::moe) or none (Mamba / Mamba-2 blocks have no MLP).
//   kDense  down(silu(gate(h)) * up(h))                      (Llama family)
//   kGelu   down(gelu_tanh(up(h))), up = dense_h_to_4h       (BLOOM; biases per mlp_bias)
struct LayerSpec {
  enum class Mixer { kAttention, kMamba, kMamba2 };
  enum class Mlp { kDense, kMoe, kNone, kGelu };
  Mixer mixer = Mixer::kAttention;
  Mlp mlp = Mlp::kDense;
  int64_t sliding_window = 0;  // > 0: position p attends to keys p-W+1..p (HF sliding_attention)
};

// Mixture-of-Experts block of MixtralForCausalLM / Qwen2MoeForCausalLM (transformers semantics):
// router logits = gate(h) (no bias); p = softmax(logits); the top_k experts by p; their weights
// p / Σ_topk p when norm_topk_prob (Mixtral always) else p; out = Σ_k w_k · expert_k(h), expert =
// down(silu(gate(h)) * up(h)); Qwen2-MoE adds sigmoid(shared_expert_gate(h)) · shared_expert(h).
struct MoeSpec {
  // tensor names: block_sparse_moe.experts.E.w1 / mlp.experts.E.gate_proj /
  // feed_forward.experts.E.gate_proj
  enum class Naming { kMixtral, kQwen2Moe, kJamba };
  Naming naming = Naming::kMixtral;
  int64_t num_experts = 0;
  int64_t top_k = 0;
  int64_t expert_intermediate_size = 0;
  bool norm_topk_prob = true;
  int64_t shared_expert_intermediate_size = 0;  // 0: no shared expert
};

// The state-space mixer of Mamba / Mamba-2 layers (transformers MambaMixer, Mamba2Mixer,
// JambaMambaMixer). Per layer and sequence the recurrent state is a conv state
// f32[conv_channels, conv_kernel-1] followed by an SSM state: f32[inner, state_size] (Mamba) or
// f32[num_heads, head_dim, state_size] (Mamba-2).
struct SsmSpec {
  int64_t inner = 0;          // D_inner = expand * hidden (Mamba-2: num_heads * head_dim)
  int64_t state_size = 0;     // N
  int64_t conv_kernel = 0;    // K
  int64_t dt_rank = 0;        // Mamba: x_proj's time-step rank
  bool conv_bias = true;
  bool proj_bias = false;     // in_proj / out_proj biases
  bool bcdt_norms = false;    // Jamba: RMSNorm on dt, B and C (dt_layernorm, b_layernorm, c_layernorm)
  int64_t num_heads = 0;      // Mamba-2
  int64_t head_dim = 0;       // Mamba-2: P
  int64_t num_groups = 1;     // Mamba-2: B/C groups
  int64_t chunk_size = 256;   // Mamba-2: SSD chunk length
  double dt_min = 0.0;        // Mamba-2 time_step_limit (clamp of softplus(dt + dt_bias))
  double dt_max = 0.0;        // 0: no upper limit
  double norm_eps = 1e-5;     // Mamba-2 gated RMSNorm eps

  int64_t conv_channels(LayerSpec::Mixer m) const {
    return m == LayerSpec::Mixer::kMamba2 ? inner + 2 * num_groups * state_size : inner;
  }
  // Floats of one layer's recurrent state (conv + SSM).
  int64_t state_floats(LayerSpec::Mixer m) const {
    const int64_t conv = conv_channels(m) * (conv_kernel - 1);
    return conv + (m == LayerSpec::Mixer::kMamba2 ? num_heads * head_dim * state_size : inner * state_size);
  }
};

// max_position_embeddings of models that encode no positions (Mamba, Mamba-2).
inline constexpr int64_t kUnboundedContext = int64_t{1} << 20;

struct ModelConfig {
  std::string architecture;          // e.g. "LlamaForCausalLM"
  std::string model_type;            // e.g. "llama"
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;         // the norms' eps (LayerNorm models: layer_norm_epsilon)
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;          // config.json rope_scaling / rope_parameters (the default policy)
  bool tie_word_embeddings = false;
  bool attention_bias = false;       // q/k/v (and for Llama, o) projections carry a bias
  bool o_proj_bias = false;
  bool mlp_bias = false;
  std::optional<int64_t> sliding_window;  // Mistral / Qwen2 (use_sliding_window) window size
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
  std::vector<LayerSpec> layers;
  MoeSpec moe;                       // num_experts > 0 for MoE models
  SsmSpec ssm;                       // for models with Mamba / Mamba-2 layers
  bool rope = true;                  // attention layers rotate q/k (Jamba's do not: no positions)
  // Attention adds the ALiBi bias slope[h]·(k − p) (kernels/alibi.h AlibiSlopes; BLOOM); then
  // rope is false and the context policies are model_default / alibi only.
  bool alibi = false;
  // kRms: HF LlamaRMSNorm (weight only). kLayerNorm: nn.LayerNorm with weight and bias (BLOOM).
  enum class Norm { kRms, kLayerNorm };
  Norm norm = Norm::kRms;
  bool embedding_norm = false;       // BLOOM: word_embeddings_layernorm right after the lookup
  // BLOOM apply_residual_connection_post_layernorm: each block's residual is its norm's output
  // instead of its input.
  bool residual_from_norm = false;
  // Tensor-name layout: model.layers.N.{self_attn,mlp} (Llama family), backbone.layers.N.mixer
  // (Mamba, Mamba-2), model.layers.N.{self_attn,mamba,feed_forward} (Jamba),
  // [transformer.]h.N.{self_attention.query_key_value,mlp.dense_h_to_4h} (BLOOM: fused QKV,
  // per head [q; k; v] rows).
  enum class Naming { kLlama, kMambaBackbone, kJamba, kBloom };
  Naming naming = Naming::kLlama;

  // Parses and validates `<model_dir>/config.json`, then merges generation_config.json's
  // bos/eos ids when present. Errors name the file and the offending key.
  static absl::StatusOr<ModelConfig> FromModelDir(const std::string& model_dir);
  // Same from JSON text; `origin` names the file in error messages.
  static absl::StatusOr<ModelConfig> FromJson(const std::string& json, const std::string& origin);

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  bool has_attention() const;   // any attention layer
  bool has_ssm() const;         // any Mamba / Mamba-2 layer
  int64_t num_attention_layers() const;  // layers with a KV cache
  // Recurrent state per sequence over all SSM layers, and layer l's float offset in it (-1: none).
  int64_t ssm_state_floats() const;
  int64_t ssm_state_offset(int64_t layer) const;
};

}  // namespace attnserve

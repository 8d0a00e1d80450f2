// ModelConfig: the parts of a Hugging Face config.json that the Llama-family runtime needs
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, and the Mixture-of-Experts
// MixtralForCausalLM / Qwen2MoeForCausalLM), validated at load. Per-layer
// LayerSpec describes each layer's mixer and MLP so later issues can mix kinds per layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

// What one decoder layer is made of (design.md §3): attention (full or sliding-window) + a dense
// MLP or a Mixture-of-Experts block (ModelConfig::moe).
struct LayerSpec {
  enum class Mixer { kAttention };
  enum class Mlp { kDense, kMoe };
  Mixer mixer = Mixer::kAttention;
  Mlp mlp = Mlp::kDense;
  int64_t sliding_window = 0;  // > 0: position p attends to keys p-W+1..p (HF sliding_attention)
};

// Mixture-of-Experts block of MixtralForCausalLM / Qwen2MoeForCausalLM (transformers semantics):
// router logits = gate(h) (no bias); p = softmax(logits); the top_k experts by p; their weights
// p / Σ_topk p when norm_topk_prob (Mixtral always) else p; out = Σ_k w_k · expert_k(h), expert =
// down(silu(gate(h)) * up(h)); Qwen2-MoE adds sigmoid(shared_expert_gate(h)) · shared_expert(h).
struct MoeSpec {
  enum class Naming { kMixtral, kQwen2Moe };  // tensor names (block_sparse_moe.experts.E.w1 / mlp.experts.E.gate_proj)
  Naming naming = Naming::kMixtral;
  int64_t num_experts = 0;
  int64_t top_k = 0;
  int64_t expert_intermediate_size = 0;
  bool norm_topk_prob = true;
  int64_t shared_expert_intermediate_size = 0;  // 0: no shared expert
};

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
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;       // q/k/v (and for Llama, o) projections carry a bias
  bool o_proj_bias = false;
  bool mlp_bias = false;
  std::optional<int64_t> sliding_window;  // Mistral / Qwen2 (use_sliding_window) window size
  std::optional<int32_t> bos_token_id;
  std::vector<int32_t> eos_token_ids;
  std::vector<LayerSpec> layers;
  MoeSpec moe;                       // num_experts > 0 for MoE models

  // Parses and validates `<model_dir>/config.json`, then merges generation_config.json's
  // bos/eos ids when present. Errors name the file and the offending key.
  static absl::StatusOr<ModelConfig> FromModelDir(const std::string& model_dir);
  // Same from JSON text; `origin` names the file in error messages.
  static absl::StatusOr<ModelConfig> FromJson(const std::string& json, const std::string& origin);

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
};

}  // namespace attnserve

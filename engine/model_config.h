// ModelConfig: the parts of a Hugging Face config.json that the Llama-family runtime needs
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM), validated at load. Per-layer
// LayerSpec describes each layer's mixer and MLP so later issues can mix kinds per layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

// What one decoder layer is made of (design.md §3): attention (full or sliding-window) + dense MLP.
struct LayerSpec {
  enum class Mixer { kAttention };
  enum class Mlp { kDense };
  Mixer mixer = Mixer::kAttention;
  Mlp mlp = Mlp::kDense;
  int64_t sliding_window = 0;  // > 0: position p attends to keys p-W+1..p (HF sliding_attention)
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

  // Parses and validates `<model_dir>/config.json`, then merges generation_config.json's
  // bos/eos ids when present. Errors name the file and the offending key.
  static absl::StatusOr<ModelConfig> FromModelDir(const std::string& model_dir);
  // Same from JSON text; `origin` names the file in error messages.
  static absl::StatusOr<ModelConfig> FromJson(const std::string& json, const std::string& origin);

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
};

}  // namespace attnserve

// Parsing of BloomForCausalLM's config.json (called by ModelConfig::FromJson), mirroring
// transformers' BloomConfig: hidden_size (older configs: n_embed), n_layer / num_hidden_layers,
// n_head / num_attention_heads, layer_norm_epsilon, apply_residual_connection_post_layernorm,
// pretraining_tp / slow_but_exact, tie_word_embeddings. BLOOM encodes positions with ALiBi (no
// RoPE), normalises with LayerNorm (with bias, also after the embedding lookup), attends with a
// fused per-head-interleaved query_key_value projection (with bias) and runs a 4·hidden GELU-tanh
// MLP with biases. Options the runtime does not implement are start-up errors naming the key.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "engine/config/model_config.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// BLOOM has no max_position_embeddings (ALiBi extrapolates); a config's "seq_length" (the
// training length some checkpoints record) or this, HF Megatron-BLOOM's training length, is the
// trained context the server defaults to (--max_model_len may raise it).
inline constexpr int64_t kBloomDefaultContext = 2048;

// Fills every field of `c` that a BLOOM model has (c.architecture already set).
absl::Status ParseBloomModelConfig(const nlohmann::json& j, const std::string& origin, ModelConfig& c);

}  // namespace attnserve

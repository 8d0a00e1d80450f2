// Parsing of the state-space parts of config.json (called by ModelConfig::FromJson):
// MambaForCausalLM / Mamba2ForCausalLM (every layer a Mamba or Mamba-2 mixer, no MLP, no
// attention) and JambaForCausalLM's layer schedule (attention every attn_layer_period-th layer
// at attn_layer_offset, Mamba elsewhere; MoE every expert_layer_period-th layer at
// expert_layer_offset when num_experts > 1), mirroring transformers' config classes. Options the
// runtime does not implement are start-up errors naming the key, never silently ignored.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "engine/config/model_config.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// Fills every field of `c` that a Mamba / Mamba-2 model has (c.architecture already set).
absl::Status ParseMambaModelConfig(const nlohmann::json& j, const std::string& origin, ModelConfig& c);

// Jamba: after the attention keys were parsed into `c` (c.layers sized), sets the Mamba mixer
// spec, the per-layer mixers and MLPs, and the MoE spec.
absl::Status ParseJambaLayers(const nlohmann::json& j, const std::string& origin, ModelConfig& c);

}  // namespace attnserve

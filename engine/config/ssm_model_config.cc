// Mamba / Mamba-2 / Jamba config.json parsing: see ssm_model_config.h.
#include "engine/config/ssm_model_config.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "engine/config/config_json.h"

namespace attnserve {
namespace {

using json = nlohmann::json;

#define ATTNSERVE_RETURN_IF_ERROR(expr) \
  if (absl::Status status_ = (expr); !status_.ok()) return status_

// "auto" (ceil(hidden / 16), as transformers resolves it) or a positive integer.
absl::Status ReadDtRank(const json& j, const char* key, const std::string& origin, int64_t hidden, int64_t& out) {
  if (!j.contains(key) || j[key].is_null() || (j[key].is_string() && j[key] == "auto")) {
    out = (hidden + 15) / 16;
    return absl::OkStatus();
  }
  return ReadPositive(j, key, origin, std::nullopt, out);
}

// The conv kernel sizes the runtime handles (the conv state keeps K-1 inputs per channel).
absl::Status CheckConvKernel(int64_t k, const char* key, const std::string& origin) {
  if (k < 2 || k > 8) {
    return absl::UnimplementedError(absl::StrCat(origin, ": \"", key, "\" = ", k,
                                                 " is not supported (causal conv kernels of 2..8 taps)"));
  }
  return absl::OkStatus();
}

absl::Status CheckSilu(const json& j, const std::string& origin) {
  if (j.contains("hidden_act") && j["hidden_act"] != "silu") {
    return absl::UnimplementedError(
        absl::StrCat(origin, ": hidden_act ", j["hidden_act"].dump(), " is not supported (silu only)"));
  }
  return absl::OkStatus();
}

// Mamba-2's time_step_limit [min, max] (max may be Infinity).
absl::Status ReadTimeStepLimit(const json& j, const std::string& origin, SsmSpec& s) {
  if (!j.contains("time_step_limit") || j["time_step_limit"].is_null()) return absl::OkStatus();
  const json& v = j["time_step_limit"];
  std::optional<double> lo, hi;
  if (v.is_array() && v.size() == 2) {
    lo = NumberOrNonFinite(v[0]);
    hi = NumberOrNonFinite(v[1]);
  }
  if (!lo || !hi || !(*lo >= 0) || !(*hi > *lo)) {
    return absl::InvalidArgumentError(absl::StrCat(
        origin, ": \"time_step_limit\" must be [min, max] with 0 <= min < max, got ", v.dump()));
  }
  s.dt_min = *lo;
  s.dt_max = std::isinf(*hi) ? 0.0 : *hi;
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseMambaModelConfig(const json& j, const std::string& origin, ModelConfig& c) {
  const bool mamba2 = c.architecture == "Mamba2ForCausalLM";
  ATTNSERVE_RETURN_IF_ERROR(CheckSilu(j, origin));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "vocab_size", origin, std::nullopt, c.vocab_size));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "hidden_size", origin, std::nullopt, c.hidden_size));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "num_hidden_layers", origin, std::nullopt, c.num_hidden_layers));
  SsmSpec& s = c.ssm;
  int64_t expand = 2;
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "expand", origin, 2, expand));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "state_size", origin, 16, s.state_size));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "conv_kernel", origin, 4, s.conv_kernel));
  ATTNSERVE_RETURN_IF_ERROR(CheckConvKernel(s.conv_kernel, "conv_kernel", origin));
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "use_conv_bias", origin, true, s.conv_bias));
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "use_bias", origin, false, s.proj_bias));
  if (j.contains("layer_norm_epsilon") && j["layer_norm_epsilon"].is_number())
    c.rms_norm_eps = j["layer_norm_epsilon"].get<double>();
  s.norm_eps = c.rms_norm_eps;
  s.inner = expand * c.hidden_size;
  if (!mamba2) {
    // MambaConfig sets intermediate_size = int(expand * hidden_size); a saved one must agree.
    if (j.contains("intermediate_size") && j["intermediate_size"].is_number_integer() &&
        j["intermediate_size"].get<int64_t>() != s.inner) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": \"intermediate_size\" ", j["intermediate_size"].dump(),
                                                     " != expand * hidden_size = ", s.inner));
    }
    ATTNSERVE_RETURN_IF_ERROR(ReadDtRank(j, "time_step_rank", origin, c.hidden_size, s.dt_rank));
  } else {
    ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "num_heads", origin, std::nullopt, s.num_heads));
    ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "head_dim", origin, 64, s.head_dim));
    ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "n_groups", origin, 8, s.num_groups));
    ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "chunk_size", origin, 256, s.chunk_size));
    if (s.num_heads * s.head_dim != s.inner) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": num_heads * head_dim (", s.num_heads * s.head_dim,
                                                     ") must equal expand * hidden_size (", s.inner, ")"));
    }
    if (s.num_heads % s.num_groups != 0 || s.inner % s.num_groups != 0) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": \"n_groups\" ", s.num_groups,
                                                     " must divide num_heads ", s.num_heads));
    }
    ATTNSERVE_RETURN_IF_ERROR(ReadTimeStepLimit(j, origin, s));
    bool rms_norm = true, norm_before_gate = false;
    ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "rms_norm", origin, true, rms_norm));
    ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "norm_before_gate", origin, false, norm_before_gate));
    // transformers' Mamba2Mixer always applies the gated RMSNorm, gate first; configs asking
    // otherwise describe a model it (and we) would compute wrongly.
    if (!rms_norm) {
      return absl::UnimplementedError(absl::StrCat(origin, ": \"rms_norm\": false is not supported "
                                                   "(the Mamba-2 mixer always ends with its gated RMSNorm)"));
    }
    if (norm_before_gate) {
      return absl::UnimplementedError(absl::StrCat(origin, ": \"norm_before_gate\": true is not supported "
                                                   "(the gate multiplies before the RMSNorm, as in transformers)"));
    }
  }
  // No attention: the attention fields stay 0 (kv_dim() == 0, no KV cache).
  c.num_attention_heads = c.num_key_value_heads = c.head_dim = 0;
  c.intermediate_size = 0;
  c.rope = false;
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "tie_word_embeddings", origin, !mamba2, c.tie_word_embeddings));
  c.naming = ModelConfig::Naming::kMambaBackbone;
  LayerSpec layer;
  layer.mixer = mamba2 ? LayerSpec::Mixer::kMamba2 : LayerSpec::Mixer::kMamba;
  layer.mlp = LayerSpec::Mlp::kNone;
  ATTNSERVE_RETURN_IF_ERROR(CheckLayerCount(c.num_hidden_layers, origin));
  c.layers.assign(c.num_hidden_layers, layer);
  return absl::OkStatus();
}

absl::Status ParseJambaLayers(const json& j, const std::string& origin, ModelConfig& c) {
  SsmSpec& s = c.ssm;
  int64_t expand = 2;
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "mamba_expand", origin, 2, expand));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "mamba_d_state", origin, 16, s.state_size));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "mamba_d_conv", origin, 4, s.conv_kernel));
  ATTNSERVE_RETURN_IF_ERROR(CheckConvKernel(s.conv_kernel, "mamba_d_conv", origin));
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "mamba_conv_bias", origin, true, s.conv_bias));
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "mamba_proj_bias", origin, false, s.proj_bias));
  ATTNSERVE_RETURN_IF_ERROR(ReadDtRank(j, "mamba_dt_rank", origin, c.hidden_size, s.dt_rank));
  s.inner = expand * c.hidden_size;
  s.bcdt_norms = true;
  s.norm_eps = c.rms_norm_eps;
  int64_t attn_period = 8, attn_offset = 4, expert_period = 2, expert_offset = 1, num_experts = 16;
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "attn_layer_period", origin, 8, attn_period));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "expert_layer_period", origin, 2, expert_period));
  ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "num_experts", origin, 16, num_experts));
  auto offset = [&](const char* key, int64_t fallback, int64_t period, int64_t& out) -> absl::Status {
    out = fallback;
    if (j.contains(key) && !j[key].is_null()) {
      if (!j[key].is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": \"", key, "\" must be an integer"));
      }
      out = j[key].get<int64_t>();
    }
    if (out < 0 || out >= period) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": \"", key, "\" ", out, " must be in [0, ", period, ")"));
    }
    return absl::OkStatus();
  };
  ATTNSERVE_RETURN_IF_ERROR(offset("attn_layer_offset", 4, attn_period, attn_offset));
  ATTNSERVE_RETURN_IF_ERROR(offset("expert_layer_offset", 1, expert_period, expert_offset));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LayerSpec& layer = c.layers[l];
    layer.mixer = l % attn_period == attn_offset ? LayerSpec::Mixer::kAttention : LayerSpec::Mixer::kMamba;
    layer.sliding_window = 0;  // JambaAttention is full causal attention
    layer.mlp = num_experts > 1 && l % expert_period == expert_offset ? LayerSpec::Mlp::kMoe : LayerSpec::Mlp::kDense;
  }
  c.sliding_window.reset();
  c.rope = false;  // JambaAttention applies no rotary embedding: Mamba layers carry positions
  c.naming = ModelConfig::Naming::kJamba;
  if (num_experts > 1) {
    MoeSpec& m = c.moe;
    m.naming = MoeSpec::Naming::kJamba;
    m.num_experts = num_experts;
    ATTNSERVE_RETURN_IF_ERROR(ReadPositive(j, "num_experts_per_tok", origin, 2, m.top_k));
    if (m.top_k > m.num_experts) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": num_experts_per_tok ", m.top_k,
                                                     " exceeds num_experts ", m.num_experts));
    }
    m.expert_intermediate_size = c.intermediate_size;
    m.norm_topk_prob = false;  // JambaTopKRouter leaves the top-k softmax weights unnormalised
  }
  return absl::OkStatus();
}

#undef ATTNSERVE_RETURN_IF_ERROR

}  // namespace attnserve

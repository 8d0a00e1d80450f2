// BloomForCausalLM config.json parsing: see bloom_model_config.h.
#include "engine/config/bloom_model_config.h"

#include "absl/strings/str_cat.h"
#include "engine/config/config_json.h"

namespace attnserve {
namespace {

using json = nlohmann::json;

#define ATTNSERVE_RETURN_IF_ERROR(expr) \
  if (absl::Status status_ = (expr); !status_.ok()) return status_

// The first of `keys` present (HF's attribute_map aliases), else `fallback`.
absl::Status ReadAliased(const json& j, std::initializer_list<const char*> keys, const std::string& origin,
                         int64_t fallback, int64_t& out) {
  for (const char* key : keys) {
    if (!j.contains(key) || j[key].is_null()) continue;
    absl::StatusOr<int64_t> v = PositiveInt(j, key, origin, std::nullopt);
    if (!v.ok()) return v.status();
    out = *v;
    return absl::OkStatus();
  }
  out = fallback;
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseBloomModelConfig(const json& j, const std::string& origin, ModelConfig& c) {
  // Defaults are BloomConfig's; n_embed (older configs) overrides hidden_size as in __post_init__.
  ATTNSERVE_RETURN_IF_ERROR(ReadAliased(j, {"vocab_size"}, origin, 250880, c.vocab_size));
  ATTNSERVE_RETURN_IF_ERROR(ReadAliased(j, {"n_embed", "hidden_size"}, origin, 64, c.hidden_size));
  ATTNSERVE_RETURN_IF_ERROR(ReadAliased(j, {"n_layer", "num_hidden_layers"}, origin, 2, c.num_hidden_layers));
  ATTNSERVE_RETURN_IF_ERROR(ReadAliased(j, {"n_head", "num_attention_heads"}, origin, 8, c.num_attention_heads));
  if (c.hidden_size % c.num_attention_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": hidden_size ", c.hidden_size,
                                                   " is not divisible by n_head ", c.num_attention_heads));
  }
  c.num_key_value_heads = c.num_attention_heads;
  c.head_dim = c.hidden_size / c.num_attention_heads;
  c.intermediate_size = 4 * c.hidden_size;  // BloomMLP: dense_h_to_4h / dense_4h_to_h
  ATTNSERVE_RETURN_IF_ERROR(ReadAliased(j, {"seq_length"}, origin, kBloomDefaultContext, c.max_position_embeddings));

  c.rms_norm_eps = 1e-5;
  if (j.contains("layer_norm_epsilon") && !j["layer_norm_epsilon"].is_null()) {
    if (!j["layer_norm_epsilon"].is_number() || !(j["layer_norm_epsilon"].get<double>() > 0)) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": \"layer_norm_epsilon\" must be a number > 0, got ",
                                                     j["layer_norm_epsilon"].dump()));
    }
    c.rms_norm_eps = j["layer_norm_epsilon"].get<double>();
  }
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "apply_residual_connection_post_layernorm", origin, false,
                                     c.residual_from_norm));
  int64_t pretraining_tp = 1;
  bool slow_but_exact = false;
  ATTNSERVE_RETURN_IF_ERROR(ReadAliased(j, {"pretraining_tp"}, origin, 1, pretraining_tp));
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "slow_but_exact", origin, false, slow_but_exact));
  if (slow_but_exact && pretraining_tp > 1) {
    // transformers then sums the attention output and dense_4h_to_h projections over
    // pretraining_tp column slices WITHOUT their biases: a different model from the weights'.
    return absl::UnimplementedError(absl::StrCat(
        origin, ": \"slow_but_exact\": true with \"pretraining_tp\" ", pretraining_tp,
        " is not supported (transformers then drops the dense layers' biases); set slow_but_exact to false"));
  }
  ATTNSERVE_RETURN_IF_ERROR(ReadBool(j, "tie_word_embeddings", origin, true, c.tie_word_embeddings));

  c.rope = false;
  c.alibi = true;
  c.norm = ModelConfig::Norm::kLayerNorm;
  c.embedding_norm = true;
  c.attention_bias = true;  // query_key_value and dense carry biases
  c.o_proj_bias = true;
  c.mlp_bias = true;
  c.naming = ModelConfig::Naming::kBloom;
  LayerSpec layer;
  layer.mlp = LayerSpec::Mlp::kGelu;
  ATTNSERVE_RETURN_IF_ERROR(CheckLayerCount(c.num_hidden_layers, origin));
  c.layers.assign(c.num_hidden_layers, layer);
  return absl::OkStatus();
}

#undef ATTNSERVE_RETURN_IF_ERROR

}  // namespace attnserve

// Parsing and validation of Hugging Face config.json / generation_config.json.
#include "engine/config/model_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/config/bloom_model_config.h"
#include "engine/config/config_json.h"
#include "engine/config/ssm_model_config.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using json = nlohmann::json;

const char* const kSupportedArchitectures[] = {"LlamaForCausalLM",  "MistralForCausalLM",
                                               "Qwen2ForCausalLM",  "MixtralForCausalLM",
                                               "Qwen2MoeForCausalLM", "MambaForCausalLM",
                                               "Mamba2ForCausalLM", "JambaForCausalLM",
                                               "BloomForCausalLM"};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// eos_token_id may be an int or a list of ints.
std::vector<int32_t> TokenIdList(const json& v) {
  std::vector<int32_t> ids;
  if (v.is_number_integer()) ids.push_back(v.get<int32_t>());
  if (v.is_array())
    for (const auto& e : v)
      if (e.is_number_integer()) ids.push_back(e.get<int32_t>());
  return ids;
}

absl::Status ParseRope(const json& j, const std::string& origin, ModelConfig& c) {
  // transformers >= 5 writes rope_parameters {rope_theta, rope_type, ...}; older ones rope_theta
  // plus an optional rope_scaling {type|rope_type, factor, ...}.
  const json* scaling = nullptr;
  if (j.contains("rope_parameters") && j["rope_parameters"].is_object()) {
    scaling = &j["rope_parameters"];
    if (scaling->contains("rope_theta")) c.rope_theta = (*scaling)["rope_theta"].get<double>();
  }
  if (j.contains("rope_theta") && j["rope_theta"].is_number()) c.rope_theta = j["rope_theta"].get<double>();
  if (j.contains("rope_scaling") && j["rope_scaling"].is_object()) scaling = &j["rope_scaling"];
  if (scaling) {
    absl::StatusOr<RopeScaling> parsed = ParseRopeScaling(*scaling, origin);
    if (!parsed.ok()) return parsed.status();
    c.rope_scaling = *parsed;
  }
  // HF lets top-level keys override the rope dict (standardize_rope_params).
  if (j.contains("original_max_position_embeddings") && j["original_max_position_embeddings"].is_number_integer() &&
      (c.rope_scaling.type == RopeScaling::Type::kYarn || c.rope_scaling.type == RopeScaling::Type::kLongrope ||
       c.rope_scaling.type == RopeScaling::Type::kLlama3)) {
    c.rope_scaling.original_max_position_embeddings = j["original_max_position_embeddings"].get<int64_t>();
  }
  const double partial = j.contains("partial_rotary_factor") && j["partial_rotary_factor"].is_number()
                             ? j["partial_rotary_factor"].get<double>()
                             : c.rope_scaling.partial_rotary_factor;
  if (partial != 1.0) {
    return absl::UnimplementedError(absl::StrCat(origin, ": partial_rotary_factor ", partial,
                                                 " is not supported (rotary embedding over the whole head)"));
  }
  if (!(c.rope_theta > 0)) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": rope_theta must be > 0"));
  }
  return absl::OkStatus();
}

// The MoE keys of Mixtral / Qwen2-MoE configs; marks the MoE layers in c.layers.
absl::Status ParseMoe(const json& j, const std::string& origin, ModelConfig& c) {
  const bool mixtral = c.architecture == "MixtralForCausalLM";
  MoeSpec& m = c.moe;
  m.naming = mixtral ? MoeSpec::Naming::kMixtral : MoeSpec::Naming::kQwen2Moe;
  auto positive = [&](const char* key, std::optional<int64_t> fallback, int64_t& out) {
    return ReadPositive(j, key, origin, fallback, out);
  };

  if (absl::Status s = positive(mixtral ? "num_local_experts" : "num_experts", std::nullopt, m.num_experts); !s.ok()) return s;
  if (absl::Status s = positive("num_experts_per_tok", std::nullopt, m.top_k); !s.ok()) return s;
  if (m.top_k > m.num_experts) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": num_experts_per_tok ", m.top_k,
                                                   " exceeds the number of experts ", m.num_experts));
  }
  if (mixtral) {
    m.expert_intermediate_size = c.intermediate_size;
    m.norm_topk_prob = true;  // MixtralTopKRouter always renormalises
    for (LayerSpec& l : c.layers) l.mlp = LayerSpec::Mlp::kMoe;
    return absl::OkStatus();
  }
  if (absl::Status s = positive("moe_intermediate_size", std::nullopt, m.expert_intermediate_size); !s.ok()) return s;
  if (j.contains("shared_expert_intermediate_size") && j["shared_expert_intermediate_size"].is_number_integer())
    m.shared_expert_intermediate_size = std::max<int64_t>(0, j["shared_expert_intermediate_size"].get<int64_t>());
  m.norm_topk_prob = j.value("norm_topk_prob", false);
  int64_t step = 1;
  if (absl::Status s = positive("decoder_sparse_step", 1, step); !s.ok()) return s;
  std::vector<int64_t> mlp_only;
  if (j.contains("mlp_only_layers") && j["mlp_only_layers"].is_array()) {
    for (const auto& v : j["mlp_only_layers"]) {
      if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= c.num_hidden_layers) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": mlp_only_layers entry ", v.dump(),
                                                       " is not a layer index below ", c.num_hidden_layers));
      }
      mlp_only.push_back(v.get<int64_t>());
    }
  }
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const bool dense = std::find(mlp_only.begin(), mlp_only.end(), l) != mlp_only.end();
    if (!dense && (l + 1) % step == 0) c.layers[l].mlp = LayerSpec::Mlp::kMoe;
  }
  return absl::OkStatus();
}

// FromJson's body. Typed reads of optional keys (j.value, get) throw nlohmann's type_error on a
// value of another type; FromJson turns that into INVALID_ARGUMENT.
absl::StatusOr<ModelConfig> ParseConfigJson(const std::string& text, const std::string& origin) {
  json j = json::parse(QuoteNonFiniteLiterals(text), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": not a valid JSON object"));
  }
  ModelConfig c;
  if (!j.contains("architectures") || !j["architectures"].is_array() || j["architectures"].empty()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": missing \"architectures\""));
  }
  if (!j["architectures"][0].is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": \"architectures\"[0] must be a string, got ",
                                                   j["architectures"][0].dump()));
  }
  c.architecture = j["architectures"][0].get<std::string>();
  bool supported = false;
  for (const char* a : kSupportedArchitectures) supported |= (c.architecture == a);
  if (!supported) {
    return absl::UnimplementedError(absl::StrCat(
        origin, ": unsupported architecture \"", c.architecture, "\" (supported: ",
        absl::StrJoin(kSupportedArchitectures, ", "), ")"));
  }
  c.model_type = j.value("model_type", "");
  auto ids = [&]() {
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
      c.bos_token_id = j["bos_token_id"].get<int32_t>();
    if (j.contains("eos_token_id")) c.eos_token_ids = TokenIdList(j["eos_token_id"]);
  };
  if (c.architecture == "BloomForCausalLM") {  // BloomConfig has no hidden_act (GELU-tanh always)
    if (absl::Status s = ParseBloomModelConfig(j, origin, c); !s.ok()) return s;
    ids();
    return c;
  }
  if (j.contains("hidden_act") && j["hidden_act"] != "silu") {
    return absl::UnimplementedError(
        absl::StrCat(origin, ": hidden_act ", j["hidden_act"].dump(), " is not supported (silu only)"));
  }
  if (c.architecture == "MambaForCausalLM" || c.architecture == "Mamba2ForCausalLM") {
    if (absl::Status s = ParseMambaModelConfig(j, origin, c); !s.ok()) return s;
    // Positions are not encoded: nothing limits the length but memory (the state is constant).
    c.max_position_embeddings = kUnboundedContext;
    ids();
    return c;
  }
  auto get = [&](const char* key, std::optional<int64_t> fallback, int64_t& out) {
    return ReadPositive(j, key, origin, fallback, out);
  };
#define ATTNSERVE_RETURN_IF_ERROR(expr) \
  if (absl::Status s = (expr); !s.ok()) return s
  ATTNSERVE_RETURN_IF_ERROR(get("vocab_size", std::nullopt, c.vocab_size));
  ATTNSERVE_RETURN_IF_ERROR(get("hidden_size", std::nullopt, c.hidden_size));
  ATTNSERVE_RETURN_IF_ERROR(get("intermediate_size", std::nullopt, c.intermediate_size));
  ATTNSERVE_RETURN_IF_ERROR(get("num_hidden_layers", std::nullopt, c.num_hidden_layers));
  ATTNSERVE_RETURN_IF_ERROR(get("num_attention_heads", std::nullopt, c.num_attention_heads));
  ATTNSERVE_RETURN_IF_ERROR(get("num_key_value_heads", c.num_attention_heads, c.num_key_value_heads));
  if (c.hidden_size % c.num_attention_heads != 0 && !(j.contains("head_dim") && !j["head_dim"].is_null())) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": hidden_size ", c.hidden_size,
                                                   " is not divisible by num_attention_heads ",
                                                   c.num_attention_heads));
  }
  ATTNSERVE_RETURN_IF_ERROR(get("head_dim", c.hidden_size / c.num_attention_heads, c.head_dim));
  ATTNSERVE_RETURN_IF_ERROR(get("max_position_embeddings", 2048, c.max_position_embeddings));
  ATTNSERVE_RETURN_IF_ERROR(ParseRope(j, origin, c));
#undef ATTNSERVE_RETURN_IF_ERROR
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        origin, ": num_attention_heads ", c.num_attention_heads,
        " is not a multiple of num_key_value_heads ", c.num_key_value_heads));
  }
  if (c.head_dim % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": head_dim ", c.head_dim, " must be even for RoPE"));
  }
  if (absl::Status v = ValidateRopeScaling(c.rope_scaling, c.head_dim, c.max_position_embeddings, origin); !v.ok())
    return v;
  if (j.contains("rms_norm_eps")) c.rms_norm_eps = j["rms_norm_eps"].get<double>();
  c.tie_word_embeddings = j.value("tie_word_embeddings", false);
  if (c.architecture == "Qwen2ForCausalLM") {
    c.attention_bias = true;  // Qwen2: q/k/v biases, no o_proj bias
  } else if (c.architecture == "Qwen2MoeForCausalLM") {
    c.attention_bias = j.value("qkv_bias", true);  // q/k/v biases, no o_proj bias
  } else if (c.architecture == "MixtralForCausalLM") {
    c.attention_bias = false;
  } else {
    c.attention_bias = j.value("attention_bias", false);
    c.o_proj_bias = c.attention_bias;
    c.mlp_bias = j.value("mlp_bias", false);
  }
  if (j.contains("sliding_window") && j["sliding_window"].is_number_integer()) {
    const bool qwen = c.architecture == "Qwen2ForCausalLM" || c.architecture == "Qwen2MoeForCausalLM";
    bool used = !qwen || j.value("use_sliding_window", false);
    if (used) c.sliding_window = j["sliding_window"].get<int64_t>();
    if (c.sliding_window && *c.sliding_window < 1) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": sliding_window must be >= 1"));
    }
  }
  ids();
  if (absl::Status s = CheckLayerCount(c.num_hidden_layers, origin); !s.ok()) return s;
  c.layers.assign(c.num_hidden_layers, LayerSpec{});
  // Which layers slide: HF `layer_types` when given ("sliding_attention" / "full_attention");
  // else Qwen2's use_sliding_window from layer max_window_layers on; else (Mistral) every layer.
  if (c.sliding_window) {
    const bool has_layer_types = j.contains("layer_types") && j["layer_types"].is_array();
    if (has_layer_types && static_cast<int64_t>(j["layer_types"].size()) != c.num_hidden_layers) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": layer_types has ", j["layer_types"].size(),
                                                     " entries for ", c.num_hidden_layers, " layers"));
    }
    const int64_t first_sliding =
        (c.architecture == "Qwen2ForCausalLM" || c.architecture == "Qwen2MoeForCausalLM")
            ? j.value("max_window_layers", int64_t{0})
            : 0;
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      const bool slides = has_layer_types ? j["layer_types"][l] == "sliding_attention" : l >= first_sliding;
      if (slides) c.layers[l].sliding_window = *c.sliding_window;
    }
  }
  if (c.architecture == "MixtralForCausalLM" || c.architecture == "Qwen2MoeForCausalLM") {
    if (absl::Status s = ParseMoe(j, origin, c); !s.ok()) return s;
  }
  if (c.architecture == "JambaForCausalLM") {
    if (absl::Status s = ParseJambaLayers(j, origin, c); !s.ok()) return s;
  }
  return c;
}

}  // namespace

absl::StatusOr<ModelConfig> ModelConfig::FromJson(const std::string& text, const std::string& origin) {
  try {
    return ParseConfigJson(text, origin);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": a key has a value of the wrong type (", e.what(), ")"));
  }
}

bool ModelConfig::has_attention() const {
  return std::any_of(layers.begin(), layers.end(),
                     [](const LayerSpec& l) { return l.mixer == LayerSpec::Mixer::kAttention; });
}

bool ModelConfig::has_ssm() const {
  return std::any_of(layers.begin(), layers.end(),
                     [](const LayerSpec& l) { return l.mixer != LayerSpec::Mixer::kAttention; });
}

int64_t ModelConfig::num_attention_layers() const {
  return std::count_if(layers.begin(), layers.end(),
                       [](const LayerSpec& l) { return l.mixer == LayerSpec::Mixer::kAttention; });
}

int64_t ModelConfig::ssm_state_offset(int64_t layer) const {
  if (layers[layer].mixer == LayerSpec::Mixer::kAttention) return -1;
  int64_t offset = 0;
  for (int64_t l = 0; l < layer; ++l)
    if (layers[l].mixer != LayerSpec::Mixer::kAttention) offset += ssm.state_floats(layers[l].mixer);
  return offset;
}

int64_t ModelConfig::ssm_state_floats() const {
  int64_t n = 0;
  for (const LayerSpec& l : layers)
    if (l.mixer != LayerSpec::Mixer::kAttention) n += ssm.state_floats(l.mixer);
  return n;
}

absl::StatusOr<ModelConfig> ModelConfig::FromModelDir(const std::string& model_dir) {
  const std::string path = model_dir + "/config.json";
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  absl::StatusOr<ModelConfig> config = FromJson(*text, path);
  if (!config.ok()) return config.status();
  // generation_config.json (optional) overrides bos/eos as transformers' generate() does.
  const std::string gen_path = model_dir + "/generation_config.json";
  if (absl::StatusOr<std::string> gen_text = ReadFile(gen_path); gen_text.ok()) {
    json g = json::parse(*gen_text, nullptr, false);
    if (g.is_discarded() || !g.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(gen_path, ": not a valid JSON object"));
    }
    if (g.contains("bos_token_id") && g["bos_token_id"].is_number_integer())
      config->bos_token_id = g["bos_token_id"].get<int32_t>();
    if (g.contains("eos_token_id")) {
      std::vector<int32_t> eos = TokenIdList(g["eos_token_id"]);
      if (!eos.empty()) config->eos_token_ids = eos;
    }
  }
  return config;
}

}  // namespace attnserve

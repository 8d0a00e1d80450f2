// GGUF metadata -> the Hugging Face config.json of the same model (gguf_model.h). The key names
// are llama.cpp's (gguf-py constants: "<arch>.embedding_length", "<arch>.rope.freq_base", ...);
// the config keys are those transformers' GGUF loader writes, so ModelConfig::FromJson validates
// a GGUF model exactly as it validates an HF directory.
#include "engine/loader/gguf_model.h"

#include <filesystem>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

using json = nlohmann::json;

// Typed metadata reads with errors naming the file and the key.
class Metadata {
 public:
  Metadata(const GgufFile& file, std::string arch) : file_(file), arch_(std::move(arch)) {}

  const std::string& arch() const { return arch_; }
  std::string ArchKey(const std::string& key) const { return absl::StrCat(arch_, ".", key); }

  bool Has(const std::string& key) const { return file_.Find(key) != nullptr; }

  absl::StatusOr<int64_t> Int(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    const GgufValue* v = file_.Find(key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      return Missing(key);
    }
    if (!v->value.is_number_integer()) {
      // Per-layer arrays (e.g. head_count_kv of some hybrids): accepted when every entry agrees.
      if (v->value.is_array() && !v->value.empty() && v->value[0].is_number_integer()) {
        for (const json& e : v->value) {
          if (e != v->value[0]) {
            return absl::UnimplementedError(absl::StrCat(file_.path(), ": metadata '", key,
                                                         "' differs between layers (", v->value.dump(),
                                                         "); attnserve needs one value"));
          }
        }
        return v->value[0].get<int64_t>();
      }
      return Wrong(key, "an integer");
    }
    return v->value.get<int64_t>();
  }
  absl::StatusOr<int64_t> Positive(const std::string& key, std::optional<int64_t> fallback = std::nullopt) const {
    absl::StatusOr<int64_t> n = Int(key, fallback);
    if (n.ok() && *n <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": metadata '", key, "' must be > 0, found ", *n));
    }
    return n;
  }
  absl::StatusOr<double> Float(const std::string& key, std::optional<double> fallback = std::nullopt) const {
    const GgufValue* v = file_.Find(key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      return Missing(key);
    }
    if (!v->value.is_number()) return Wrong(key, "a number");
    return v->value.get<double>();
  }
  absl::StatusOr<std::string> String(const std::string& key, std::optional<std::string> fallback = std::nullopt) const {
    const GgufValue* v = file_.Find(key);
    if (v == nullptr) {
      if (fallback) return *fallback;
      return Missing(key);
    }
    if (!v->value.is_string()) return Wrong(key, "a string");
    return v->value.get<std::string>();
  }
  // The string at `index` of the string array `key`, or nullopt.
  std::optional<std::string> ArrayString(const std::string& key, int64_t index) const {
    const GgufValue* v = file_.Find(key);
    if (v == nullptr || !v->value.is_array() || index < 0 || index >= static_cast<int64_t>(v->value.size()) ||
        !v->value[index].is_string()) {
      return std::nullopt;
    }
    return v->value[index].get<std::string>();
  }
  int64_t ArraySize(const std::string& key) const {
    const GgufValue* v = file_.Find(key);
    return v != nullptr && v->value.is_array() ? static_cast<int64_t>(v->value.size()) : 0;
  }

 private:
  absl::Status Missing(const std::string& key) const {
    return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": required metadata '", key, "' is missing"));
  }
  absl::Status Wrong(const std::string& key, const char* want) const {
    return absl::InvalidArgumentError(absl::StrCat(file_.path(), ": metadata '", key, "' must be ", want,
                                                   ", found ", file_.Find(key)->value.dump().substr(0, 80)));
  }
  const GgufFile& file_;
  std::string arch_;
};

#define ATTNSERVE_ASSIGN(lhs, expr)          \
  do {                                       \
    auto value_or = (expr);                  \
    if (!value_or.ok()) return value_or.status(); \
    lhs = *std::move(value_or);              \
  } while (0)

// RoPE keys: freq_base, scaling (none / linear / yarn), and the rotary dimension (must be the
// whole head: partial rotary embeddings are not supported by the engine).
absl::Status AddRope(const Metadata& m, const GgufFile& file, int64_t head_dim, json& c) {
  double theta = 0;
  ATTNSERVE_ASSIGN(theta, m.Float(m.ArchKey("rope.freq_base"), 10000.0));
  c["rope_theta"] = theta;
  int64_t rot = 0;
  ATTNSERVE_ASSIGN(rot, m.Positive(m.ArchKey("rope.dimension_count"), head_dim));
  if (rot != head_dim) {
    return absl::UnimplementedError(absl::StrCat(file.path(), ": metadata '", m.ArchKey("rope.dimension_count"),
                                                 "' is ", rot, " but heads have ", head_dim,
                                                 " dimensions (partial rotary embeddings are not supported)"));
  }
  if (file.FindTensor("rope_freqs.weight") != nullptr) {
    return absl::UnimplementedError(absl::StrCat(
        file.path(), ": tensor 'rope_freqs.weight' (per-dimension RoPE frequency factors, as llama.cpp "
                     "stores Llama-3.1 rope scaling) is not supported"));
  }
  std::string type;
  ATTNSERVE_ASSIGN(type, m.String(m.ArchKey("rope.scaling.type"), std::string("none")));
  if (type == "none") return absl::OkStatus();
  if (type != "linear" && type != "yarn") {
    return absl::UnimplementedError(
        absl::StrCat(file.path(), ": metadata '", m.ArchKey("rope.scaling.type"), "' is \"", type,
                     "\" (supported: none, linear, yarn)"));
  }
  double factor = 0;
  ATTNSERVE_ASSIGN(factor, m.Float(m.ArchKey("rope.scaling.factor")));
  if (type == "linear") {
    c["rope_scaling"] = {{"rope_type", "linear"}, {"factor", factor}};
    return absl::OkStatus();
  }
  int64_t original = 0;
  ATTNSERVE_ASSIGN(original, m.Positive(m.ArchKey("rope.scaling.original_context_length")));
  c["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", factor}, {"original_max_position_embeddings", original}};
  return absl::OkStatus();
}

absl::StatusOr<json> BuildHfConfig(const GgufFile& file, const Metadata& m) {
  const std::string& arch = m.arch();
  json c = json::object();
  int64_t experts = 0;
  ATTNSERVE_ASSIGN(experts, m.Int(m.ArchKey("expert_count"), 0));
  if (arch == "llama") {
    c["architectures"] = {experts > 0 ? "MixtralForCausalLM" : "LlamaForCausalLM"};
    c["model_type"] = experts > 0 ? "mixtral" : "llama";
  } else if (arch == "qwen2") {
    c["architectures"] = {"Qwen2ForCausalLM"};
    c["model_type"] = "qwen2";
  } else if (arch == "qwen2moe") {
    c["architectures"] = {"Qwen2MoeForCausalLM"};
    c["model_type"] = "qwen2_moe";
  } else {
    return absl::UnimplementedError(absl::StrCat(file.path(), ": metadata 'general.architecture' is \"", arch,
                                                 "\" (supported: llama, qwen2, qwen2moe)"));
  }
  int64_t hidden = 0, layers = 0, heads = 0;
  ATTNSERVE_ASSIGN(hidden, m.Positive(m.ArchKey("embedding_length")));
  ATTNSERVE_ASSIGN(layers, m.Positive(m.ArchKey("block_count")));
  ATTNSERVE_ASSIGN(heads, m.Positive(m.ArchKey("attention.head_count")));
  int64_t kv_heads = 0, head_dim = 0, ctx = 0, ff = 0;
  ATTNSERVE_ASSIGN(kv_heads, m.Positive(m.ArchKey("attention.head_count_kv"), heads));
  ATTNSERVE_ASSIGN(head_dim, m.Positive(m.ArchKey("attention.key_length"), hidden / heads));
  if (int64_t v = 0; m.Has(m.ArchKey("attention.value_length"))) {
    ATTNSERVE_ASSIGN(v, m.Positive(m.ArchKey("attention.value_length")));
    if (v != head_dim) {
      return absl::UnimplementedError(absl::StrCat(file.path(), ": metadata '", m.ArchKey("attention.value_length"),
                                                   "' ", v, " differs from the key length ", head_dim));
    }
  }
  ATTNSERVE_ASSIGN(ctx, m.Positive(m.ArchKey("context_length")));
  ATTNSERVE_ASSIGN(ff, m.Positive(m.ArchKey("feed_forward_length"), arch == "qwen2moe" ? std::optional<int64_t>(1)
                                                                                      : std::nullopt));
  double eps = 0;
  ATTNSERVE_ASSIGN(eps, m.Float(m.ArchKey("attention.layer_norm_rms_epsilon")));
  // Vocabulary: <arch>.vocab_size, else the token list's length, else the embedding's rows.
  int64_t vocab = m.ArraySize("tokenizer.ggml.tokens");
  if (const GgufTensor* embd = file.FindTensor("token_embd.weight"); embd != nullptr && embd->dims.size() == 2) {
    vocab = embd->dims[1];
  }
  ATTNSERVE_ASSIGN(vocab, m.Positive(m.ArchKey("vocab_size"), vocab > 0 ? std::optional<int64_t>(vocab) : std::nullopt));

  c["vocab_size"] = vocab;
  c["hidden_size"] = hidden;
  c["intermediate_size"] = ff;
  c["num_hidden_layers"] = layers;
  c["num_attention_heads"] = heads;
  c["num_key_value_heads"] = kv_heads;
  c["head_dim"] = head_dim;
  c["max_position_embeddings"] = ctx;
  c["rms_norm_eps"] = eps;
  c["hidden_act"] = "silu";
  c["tie_word_embeddings"] = file.FindTensor("output.weight") == nullptr;
  if (absl::Status s = AddRope(m, file, head_dim, c); !s.ok()) return s;
  if (m.Has(m.ArchKey("attention.sliding_window"))) {
    int64_t window = 0;
    ATTNSERVE_ASSIGN(window, m.Positive(m.ArchKey("attention.sliding_window")));
    c["sliding_window"] = window;
    if (arch != "llama") c["use_sliding_window"] = true;
  }
  if (arch == "llama") {  // bias tensors decide (llama.cpp writes them when the HF model has them)
    const bool bias = file.FindTensor("blk.0.attn_q.bias") != nullptr;
    c["attention_bias"] = bias;
    c["mlp_bias"] = file.FindTensor("blk.0.ffn_up.bias") != nullptr;
  }
  if (experts > 0) {
    int64_t used = 0;
    ATTNSERVE_ASSIGN(used, m.Positive(m.ArchKey("expert_used_count")));
    c["num_experts_per_tok"] = used;
    if (arch == "llama") {
      c["num_local_experts"] = experts;
    } else {
      c["num_experts"] = experts;
      int64_t expert_ff = 0, shared_ff = 0;
      ATTNSERVE_ASSIGN(expert_ff, m.Positive(m.ArchKey("expert_feed_forward_length")));
      ATTNSERVE_ASSIGN(shared_ff, m.Int(m.ArchKey("expert_shared_feed_forward_length"), 0));
      c["moe_intermediate_size"] = expert_ff;
      c["shared_expert_intermediate_size"] = shared_ff;
      // Layers without a router keep a dense MLP (HF's mlp_only_layers).
      json dense = json::array();
      for (int64_t l = 0; l < layers; ++l) {
        if (file.FindTensor(absl::StrCat("blk.", l, ".ffn_gate_inp.weight")) == nullptr) dense.push_back(l);
      }
      if (!dense.empty()) c["mlp_only_layers"] = dense;
    }
  } else if (arch == "qwen2moe") {
    return absl::InvalidArgumentError(
        absl::StrCat(file.path(), ": required metadata '", m.ArchKey("expert_count"), "' is missing"));
  }
  // Special token ids: the tokenizer's (llama.cpp keeps them with the vocabulary).
  for (const auto& [key, field] : {std::pair{"tokenizer.ggml.bos_token_id", "bos_token_id"},
                                   std::pair{"tokenizer.ggml.eos_token_id", "eos_token_id"},
                                   std::pair{"tokenizer.ggml.padding_token_id", "pad_token_id"}}) {
    if (!m.Has(key)) continue;
    int64_t id = 0;
    ATTNSERVE_ASSIGN(id, m.Int(key));
    if (id < 0 || id >= vocab) {
      return absl::InvalidArgumentError(
          absl::StrCat(file.path(), ": metadata '", key, "' is ", id, ", outside the vocabulary of ", vocab));
    }
    c[field] = id;
  }
  if (m.Has("tokenizer.ggml.eot_token_id")) {  // end of turn: an extra stop token, as llama.cpp does
    int64_t eot = 0;
    ATTNSERVE_ASSIGN(eot, m.Int("tokenizer.ggml.eot_token_id"));
    if (eot >= 0 && eot < vocab) {
      json eos = json::array();
      if (c.contains("eos_token_id")) eos.push_back(c["eos_token_id"]);
      if (!c.contains("eos_token_id") || c["eos_token_id"] != eot) eos.push_back(eot);
      c["eos_token_id"] = eos;
    }
  }
  return c;
}

}  // namespace

bool IsGgufPath(const std::string& path) {
  std::error_code ec;
  return absl::EndsWithIgnoreCase(path, ".gguf") && std::filesystem::is_regular_file(path, ec);
}

absl::StatusOr<GgufModel> OpenGgufModel(const std::string& path) {
  absl::StatusOr<std::unique_ptr<GgufFile>> opened = GgufFile::Open(path);
  if (!opened.ok()) return opened.status();
  GgufModel model;
  model.file = std::shared_ptr<const GgufFile>(std::move(*opened));
  const GgufFile& file = *model.file;
  const GgufValue* arch = file.Find("general.architecture");
  if (arch == nullptr || !arch->value.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": required metadata 'general.architecture' is missing or not a string"));
  }
  model.architecture = arch->value.get<std::string>();
  const Metadata m(file, model.architecture);
  absl::StatusOr<json> config = BuildHfConfig(file, m);
  if (!config.ok()) return config.status();
  model.hf_config = *std::move(config);
  ATTNSERVE_ASSIGN(model.chat_template, m.String("tokenizer.chat_template", std::string()));
  if (model.hf_config.contains("bos_token_id")) {
    model.bos_token = m.ArrayString("tokenizer.ggml.tokens", model.hf_config["bos_token_id"].get<int64_t>()).value_or("");
  }
  if (const GgufValue* eos = file.Find("tokenizer.ggml.eos_token_id"); eos != nullptr && eos->value.is_number_integer()) {
    model.eos_token = m.ArrayString("tokenizer.ggml.tokens", eos->value.get<int64_t>()).value_or("");
  }
  return model;
}

#undef ATTNSERVE_ASSIGN

}  // namespace attnserve

// DescribeModel: what GetModelInfo reports for a loaded model (see model_info.h).
#include "engine/runtime/model_info.h"

#include "absl/strings/str_cat.h"
#include "engine/attention/attention_registry.h"

namespace attnserve {

ModelInfo DescribeModel(const std::string& dir, const ModelConfig& c,
                        const std::string& weights_dtype, uint64_t num_parameters,
                        int64_t max_model_len, const std::string& compute_backend,
                        const AttentionPlan& plan) {
  ModelInfo info;
  info.model_path = dir;
  info.architecture = c.architecture;
  info.vocab_size = c.vocab_size;
  info.max_context = max_model_len;
  info.num_layers = c.num_hidden_layers;
  info.hidden_size = c.hidden_size;
  info.num_attention_heads = c.num_attention_heads;
  info.num_key_value_heads = c.num_key_value_heads;
  info.head_dim = c.head_dim;
  for (const AttentionBackendInfo& b : AttentionBackends()) {
    info.attention_backends.emplace_back(b.name);
    AttentionBackendSummary s{std::string(b.name), std::string(b.family), MemoryKindName(b.memory),
                              std::string(b.description), std::string(b.complexity), {}};
    for (const AttentionParamSpec& p : b.params) s.parameters.push_back(absl::StrCat(std::string(p.name), "=", p.default_value));
    info.attention_backend_info.push_back(std::move(s));
  }
  info.default_attention = plan.description;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerAttention& a = plan.layers[l];
    LayerDescription layer;
    layer.index = static_cast<uint32_t>(l);
    layer.attention_backend = a.backend;
    layer.memory_kind = MemoryKindName(a.memory);
    if (a.mask.kind == MaskKind::kSlidingWindow) layer.sliding_window = static_cast<uint32_t>(a.mask.window);
    if (c.layers[l].mlp == LayerSpec::Mlp::kMoe) layer.mlp = "moe";
    if (c.layers[l].mlp == LayerSpec::Mlp::kNone) layer.mlp = "none";
    if (c.layers[l].mlp == LayerSpec::Mlp::kGelu) layer.mlp = "gelu";
    if (c.layers[l].mixer == LayerSpec::Mixer::kMamba) layer.mixer = "mamba";
    if (c.layers[l].mixer == LayerSpec::Mixer::kMamba2) layer.mixer = "mamba2";
    info.layers.push_back(layer);
  }
  info.weights_dtype = weights_dtype;
  info.bos_token_id = c.bos_token_id.value_or(-1);
  info.eos_token_ids = c.eos_token_ids;
  info.rope_theta = c.rope_theta;
  info.num_parameters = num_parameters;
  info.num_experts = static_cast<uint32_t>(c.moe.num_experts);
  info.num_experts_per_token = static_cast<uint32_t>(c.moe.top_k);
  info.backend = compute_backend;
  info.kv_cache_bytes_per_token = 2 * c.num_attention_layers() * c.kv_dim() * static_cast<int64_t>(sizeof(float));
  info.recurrent_state_bytes_per_sequence = c.ssm_state_floats() * static_cast<int64_t>(sizeof(float));
  return info;
}

}  // namespace attnserve

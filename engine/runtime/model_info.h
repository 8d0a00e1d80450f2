// ModelInfo: what GetModelInfo reports (plain data; server/ copies it into the proto), and
// DescribeModel, which fills it for a loaded model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/config/model_config.h"

namespace attnserve {

struct LayerDescription {
  uint32_t index = 0;
  std::string mixer = "attention";  // "attention", "mamba" or "mamba2"
  std::string attention_backend = "full";
  std::string memory_kind = "paged_kv";
  std::string mlp = "dense";         // "dense" (SiLU-gated), "gelu" (BLOOM), "moe" or "none"
  uint32_t sliding_window = 0;  // window of a sliding_window layer
};

struct AttentionBackendSummary {
  std::string name, family, memory_kind, description, complexity;
  std::vector<std::string> parameters;  // "name=default"
};

struct ModelInfo {
  std::string model_path;
  std::string served_model_name;
  std::string architecture;
  uint32_t vocab_size = 0;
  uint32_t max_context = 0;
  uint32_t num_layers = 0;
  uint32_t hidden_size = 0;
  uint32_t num_attention_heads = 0;
  uint32_t num_key_value_heads = 0;
  uint32_t head_dim = 0;
  std::vector<LayerDescription> layers;
  std::vector<std::string> attention_backends;
  std::vector<AttentionBackendSummary> attention_backend_info;
  std::string default_attention;  // --attention as resolved ("" = the model's own)
  std::string weights_dtype;
  std::string compute_dtype = "float32";
  std::string matrix_dtype;  // the weight matrices' dtype in memory (--weight_dtype), see the proto
  int32_t bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;
  double rope_theta = 10000.0;
  uint64_t num_parameters = 0;
  uint64_t num_active_parameters = 0;   // per token (MoE: top_k experts per MoE layer)
  uint32_t num_experts = 0;             // MoE models
  uint32_t num_experts_per_token = 0;
  std::vector<std::vector<int32_t>> expert_placement;  // [shard] -> experts (every MoE layer)
  std::string backend = "cpu";
  int64_t kv_cache_bytes_per_token = 0;           // K+V of every attention layer (0: attention-free)
  int64_t recurrent_state_bytes_per_sequence = 0; // conv+SSM states of every Mamba layer
  std::vector<std::string> context_policies;      // kinds this model accepts
  std::string default_context_policy;             // as resolved ("model_default" or e.g. "yarn|...")
  int64_t trained_context = 0;                    // max_position_embeddings
};

}  // namespace attnserve

namespace attnserve {

// The description of a loaded model; layers show the deployment default attention `plan`.
ModelInfo DescribeModel(const std::string& model_dir, const ModelConfig& config,
                        const std::string& weights_dtype, uint64_t num_parameters,
                        int64_t max_model_len, const std::string& compute_backend,
                        const AttentionPlan& plan);

}  // namespace attnserve

// ModelInfo: what GetModelInfo reports (plain data; server/ copies it into the proto).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnserve {

struct LayerDescription {
  uint32_t index = 0;
  std::string mixer = "attention";
  std::string attention_backend = "full";
  std::string memory_kind = "kv";
  std::string mlp = "dense";
  uint32_t sliding_window = 0;  // window of a sliding_window layer
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
  std::string weights_dtype;
  std::string compute_dtype = "float32";
  int32_t bos_token_id = -1;
  std::vector<int32_t> eos_token_ids;
  double rope_theta = 10000.0;
  uint64_t num_parameters = 0;
  std::string backend = "cpu";
};

}  // namespace attnserve

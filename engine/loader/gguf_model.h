// GgufModel: a GGUF file (llama.cpp's format) read as the Hugging Face model it was converted
// from, so the rest of the engine sees one kind of model (docs/architecture.md, "Model files"):
//   * metadata -> the config.json transformers writes for it (GgufHfConfig), parsed by the same
//     ModelConfig::FromJson as an HF directory, so every architecture rule has one source;
//   * tensors  -> a WeightStore under HF names and HF shapes (GgufWeights): blk.N.attn_q.weight
//     -> model.layers.N.self_attn.q_proj.weight, dims reversed, blocks kept in their ggml format
//     (no widening); llama-architecture Q/K rows un-permuted (llama.cpp's converter interleaves
//     the two RoPE halves of each head); stacked 3-D expert tensors split into per-expert views.
// Architectures (general.architecture): llama (Llama, Mistral; with llama.expert_count > 0:
// Mixtral), qwen2, qwen2moe. Anything else is refused naming the file and the architecture.
// Immutable after Open; thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/loader/gguf_file.h"
#include "engine/loader/weight_store.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// True when `path` names a GGUF file (a regular file ending in ".gguf"), not a model directory.
bool IsGgufPath(const std::string& path);

struct GgufModel {
  std::shared_ptr<const GgufFile> file;
  // config.json equivalent: architectures, model_type, sizes, rope, eps, bos/eos ids, ...
  nlohmann::json hf_config;
  std::string architecture;   // general.architecture ("llama", "qwen2", ...)
  std::string chat_template;  // tokenizer.chat_template, "" when absent
  std::string bos_token, eos_token;  // token strings of the bos / eos ids ("" when absent)
};

// Opens and validates `path`: INVALID_ARGUMENT / UNIMPLEMENTED naming the file and the metadata
// key or tensor on missing or wrong-typed metadata, an unknown architecture, partial rotary
// embeddings, or tensors attnserve cannot use.
absl::StatusOr<GgufModel> OpenGgufModel(const std::string& path);

// The model's tensors under HF names (see the header comment). Tensors of ggml types without an
// attnserve DType are refused naming the tensor and its type. The store keeps `model.file` alive.
absl::StatusOr<std::unique_ptr<WeightStore>> GgufWeights(const GgufModel& model);

}  // namespace attnserve

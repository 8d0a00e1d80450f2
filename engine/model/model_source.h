// ModelSource: what --model names — a Hugging Face model directory (config.json, tokenizer.json,
// *.safetensors) or a GGUF file (engine/loader/gguf_model.h) — opened into the three things the
// engine needs: the validated ModelConfig, the tokenizer and the weight store. Both kinds go
// through the same ModelConfig::FromJson, so architecture rules have one source.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine/tokenizer/tokenizer.h"

namespace attnserve {

struct ModelSource {
  ModelConfig config;
  std::unique_ptr<Tokenizer> tokenizer;  // null when not asked for
  std::unique_ptr<WeightStore> weights;
  bool gguf = false;                     // the source is a .gguf file
};

// Opens `path` (a directory, or a regular file ending in .gguf). NOT_FOUND when it is neither;
// otherwise the errors of the readers, naming the file and the field. with_tokenizer = false
// skips the tokenizer (benchmarks).
absl::StatusOr<ModelSource> OpenModelSource(const std::string& path, bool with_tokenizer = true);

}  // namespace attnserve

// OpenModelSource (model_source.h): an HF directory or a GGUF file into config, tokenizer, weights.
#include "engine/model/model_source.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "engine/loader/gguf_model.h"
#include "engine/loader/gguf_tokenizer.h"

namespace attnserve {

absl::StatusOr<ModelSource> OpenModelSource(const std::string& path, bool with_tokenizer) {
  ModelSource source;
  if (IsGgufPath(path)) {
    absl::StatusOr<GgufModel> gguf = OpenGgufModel(path);
    if (!gguf.ok()) return gguf.status();
    absl::StatusOr<ModelConfig> config =
        ModelConfig::FromJson(gguf->hf_config.dump(), absl::StrCat(path, " (config from GGUF metadata)"));
    if (!config.ok()) return config.status();
    source.config = *std::move(config);
    absl::StatusOr<std::unique_ptr<WeightStore>> weights = GgufWeights(*gguf);
    if (!weights.ok()) return weights.status();
    source.weights = *std::move(weights);
    if (with_tokenizer) {
      absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = TokenizerFromGguf(*gguf->file);
      if (!tokenizer.ok()) return tokenizer.status();
      source.tokenizer = *std::move(tokenizer);
    }
    source.gguf = true;
    return source;
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat(path, ": neither a model directory nor a .gguf file (it does not exist or is another kind of file)"));
  }
  absl::StatusOr<ModelConfig> config = ModelConfig::FromModelDir(path);
  if (!config.ok()) return config.status();
  source.config = *std::move(config);
  if (with_tokenizer) {
    absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = Tokenizer::FromFile(path + "/tokenizer.json");
    if (!tokenizer.ok()) return tokenizer.status();
    source.tokenizer = *std::move(tokenizer);
  }
  absl::StatusOr<std::unique_ptr<WeightStore>> weights = WeightStore::Open(path);
  if (!weights.ok()) return weights.status();
  source.weights = *std::move(weights);
  return source;
}

}  // namespace attnserve

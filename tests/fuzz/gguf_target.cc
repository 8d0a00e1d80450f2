// Fuzz target: a GGUF file. The bytes become /tmp/attnserve_fuzz_<pid>/model.gguf (the reader maps
// a path) and go through what `--model x.gguf` does (engine/model/model_source,
// server/chat_prompt): GgufFile::Open (header, metadata, tensor table), TokenizerFromGguf (then
// encode / decode a text), OpenGgufModel -> ModelConfig::FromJson of the derived config.json ->
// GgufWeights (HF names, Q/K un-permuted, experts split) -> LoadF32 / LoadMatrix of every tensor,
// and the chat template of tokenizer.chat_template rendered over a short conversation.
#include <optional>
#include <string>
#include <vector>

#include "engine/loader/gguf_file.h"
#include "engine/loader/gguf_model.h"
#include "engine/loader/gguf_tokenizer.h"
#include "engine/config/model_config.h"
#include "server/chat_prompt.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {
namespace {

size_t ExerciseTokenizer(const Tokenizer& tok) {
  size_t sum = static_cast<size_t>(tok.vocab_size());
  for (const char* text : {"Hello world, caf\xc3\xa9 \xf0\x9f\x98\x80 12345", " <s>\n\t x"}) {
    std::vector<int32_t> ids = tok.Encode(text, true);
    sum += ids.size() + tok.Decode(ids, true).size() + tok.Decode(ids, false).size();
  }
  std::vector<int32_t> all;
  for (int32_t id = -1; id <= tok.vocab_size() && id < 300; ++id) all.push_back(id);
  sum += tok.Decode(all, false).size();
  return sum;
}

size_t ExerciseWeights(const WeightStore& store) {
  size_t sum = 0;
  for (const std::string& name : store.Names()) {
    absl::StatusOr<const StoredTensor*> t = store.Get(name);
    if (!t.ok()) continue;
    const std::vector<int64_t> shape = (*t)->shape;
    if (absl::StatusOr<F32Tensor> f = store.LoadF32(name, shape); f.ok() && f->numel() > 0) {
      sum += f->data[0] != 0.0f ? 1 : 0;
    }
    if (shape.size() == 2 && shape[0] > 0 && shape[1] > 0) {
      if (absl::StatusOr<WeightTensor> m = store.LoadMatrix(name, shape[0], shape[1], std::nullopt); m.ok()) {
        sum += m->matrix.nbytes();
      }
    }
  }
  return sum;
}

}  // namespace

int FuzzGguf(const uint8_t* data, size_t size) {
  const std::string path = WriteTempFile("model.gguf", data, size);
  absl::StatusOr<std::unique_ptr<GgufFile>> file = GgufFile::Open(path);
  if (!Note("GgufFile::Open", file)) return 0;
  size_t sum = (*file)->metadata().size() + (*file)->tensors().size();
  std::unique_ptr<Tokenizer> tokenizer;
  if (absl::StatusOr<std::unique_ptr<Tokenizer>> t = TokenizerFromGguf(**file); Note("TokenizerFromGguf", t)) {
    tokenizer = *std::move(t);
    sum += ExerciseTokenizer(*tokenizer);
  }
  absl::StatusOr<GgufModel> model = OpenGgufModel(path);
  if (Note("OpenGgufModel", model)) {
    absl::StatusOr<ModelConfig> config = ModelConfig::FromJson(model->hf_config.dump(), path);
    if (Note("ModelConfig::FromJson", config)) {
      sum += config->layers.size();
      if (absl::StatusOr<std::unique_ptr<WeightStore>> weights = GgufWeights(*model); Note("GgufWeights", weights)) {
        sum += ExerciseWeights(**weights);
      }
    }
    const Tokenizer& tok = tokenizer ? *tokenizer : FixtureTokenizer();
    if (absl::StatusOr<std::unique_ptr<server::ChatPrompt>> chat = server::ChatPrompt::Load(path, "", tok);
        Note("ChatPrompt::Load", chat) && *chat != nullptr) {
      nlohmann::ordered_json messages = nlohmann::ordered_json::parse(
          R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}])");
      if (auto rendered = (*chat)->Render(messages, nullptr, true, nullptr); Note("ChatPrompt::Render", rendered)) {
        sum += rendered->token_ids.size();
      }
    }
  }
  volatile size_t keep = sum;
  (void)keep;
  return 0;
}

}  // namespace attnserve::fuzz

// The fuzz targets (issue 19): one plain function per parser of the daemon, fed raw bytes by the
// libFuzzer drivers (<target>_fuzzer.cc, built with -DATTNSERVE_FUZZ=ON) and by the corpus replay
// test (every build). Each feeds the bytes to the real entry point and, when parsing succeeds,
// exercises the result a little. They return 0; a bug shows as a crash or a sanitizer report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace attnserve::fuzz {

// A *.safetensors file: SafetensorsFile::Open, then WeightStore::Open on its directory and
// LoadF32 / LoadMatrix of every tensor.
int FuzzSafetensorsHeader(const uint8_t* data, size_t size);
// config.json: ModelConfig::FromJson (every family: Llama/Mistral/Qwen2, MoE, Mamba/Mamba-2/Jamba,
// BLOOM), then the engine's per-model plans (RequestPlanner::Create + Resolve).
int FuzzModelConfig(const uint8_t* data, size_t size);
// tokenizer.json [+ '\0' + text]: Tokenizer::FromJson, then Encode / Decode / StreamingDecoder of
// the text (fixed sample texts when none is given) and of ids from the bytes.
int FuzzTokenizerJson(const uint8_t* data, size_t size);
// Arbitrary bytes as text through the golden tokenizers (byte-level and SentencePiece BPE).
int FuzzTokenize(const uint8_t* data, size_t size);
// A .gguf file: GgufFile::Open, TokenizerFromGguf, OpenGgufModel -> ModelConfig::FromJson ->
// GgufWeights (as engine/model/model_source does) and LoadF32 / LoadMatrix, the chat template.
int FuzzGguf(const uint8_t* data, size_t size);
// A Jinja chat template: ChatTemplate::Parse, then Render over fixed conversations.
int FuzzChatTemplate(const uint8_t* data, size_t size);
// GenerateRequest / ScoreRequest proto bytes: ParseFromArray -> ToGenerateSpec / ToScoreSpec ->
// the engine's validation for tiny-llama -> a few generation steps when valid.
int FuzzGenerateRequest(const uint8_t* data, size_t size);
// An OpenAI HTTP request body: ParseJsonBody -> ParseOpenAiRequest (completions and chat) ->
// ToGenerateSpec and the engine's validation of every prompt.
int FuzzOpenAiRequest(const uint8_t* data, size_t size);

struct FuzzTarget {
  const char* name;  // tests/fuzz/corpus/<name>, bin/<name>_fuzzer
  int (*fn)(const uint8_t* data, size_t size);
};
std::span<const FuzzTarget> AllFuzzTargets();

}  // namespace attnserve::fuzz

// Fixed objects the fuzz targets share (built once per process, never fuzzed themselves): the
// tiny-llama model's config and tokenizer, a ChatML chat prompt, the engine's request validation
// against that model, and per-process temp files for parsers that only read a path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "engine/config/model_config.h"
#include "engine/request/request_types.h"
#include "engine/tokenizer/tokenizer.h"
#include "server/chat_prompt.h"

namespace attnserve::fuzz {

// `relative` under the source tree (models/..., tests/golden/...).
std::string SourcePath(std::string_view relative);

// models/tiny-llama: config (vocab 1024, 2048 positions) and its byte-level BPE tokenizer.
const ModelConfig& FixtureConfig();
const Tokenizer& FixtureTokenizer();
// tests/golden/chat_templates/smollm2-1.7b-instruct.jinja (ChatML) over FixtureTokenizer().
const server::ChatPrompt& FixtureChat();
constexpr uint32_t kFixtureMaxModelLen = 2048;
constexpr char kFixtureModelName[] = "tiny-llama";

// What Engine::Validate does for FixtureConfig(): ValidateGenerateSpec / ValidateScoreSpec, then
// the RequestPlanner resolving the request's attention and context policy (deployment defaults
// empty, block size 16, max_model_len kFixtureMaxModelLen).
absl::Status ValidateLikeEngine(const GenerateSpec& spec);
absl::Status ValidateLikeEngine(const ScoreSpec& spec);

// After validation succeeded: what the engine builds for the request (GenerationStream: sampler,
// streaming decoder, stop strings) and a few steps over fixed logits.
void RunFewSteps(const GenerateSpec& spec);

// With ATTNSERVE_FUZZ_DEBUG=1 in the environment: prints "<stage>: <status>" to stderr (why a seed
// stops where it does). Returns status.ok().
bool Note(const char* stage, const absl::Status& status);
template <typename T>
bool Note(const char* stage, const absl::StatusOr<T>& v) {
  return Note(stage, v.status());
}

// Writes `data` to /tmp/attnserve_fuzz_<pid>/<name> (replacing it) and returns the path.
std::string WriteTempFile(std::string_view name, const uint8_t* data, size_t size);
// /tmp/attnserve_fuzz_<pid> (created on first use).
std::string TempDir();

}  // namespace attnserve::fuzz

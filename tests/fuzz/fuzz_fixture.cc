// Shared fixed objects of the fuzz targets (fuzz_fixture.h). A fixture that fails to load is a
// broken checkout, not a finding: it aborts with the reason.
#include "tests/fuzz/fuzz_fixture.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/output/generation_stream.h"
#include "engine/request/request_plans.h"
#include "engine/request/request_validation.h"

namespace attnserve::fuzz {
namespace {

template <typename T>
T OrDie(absl::StatusOr<T> v, const char* what) {
  if (!v.ok()) {
    std::fprintf(stderr, "fuzz fixture %s: %s\n", what, v.status().ToString().c_str());
    std::abort();
  }
  return *std::move(v);
}

const RequestPlanner& FixturePlanner() {
  static const RequestPlanner* planner = new RequestPlanner(OrDie(
      RequestPlanner::Create(&FixtureConfig(), AttentionChoice{}, ContextPolicyChoice{}, 16, kFixtureMaxModelLen),
      "planner"));
  return *planner;
}

ValidationLimits FixtureLimits() {
  ValidationLimits limits;
  limits.vocab_size = FixtureConfig().vocab_size;
  limits.max_model_len = kFixtureMaxModelLen;
  return limits;
}

}  // namespace

std::string SourcePath(std::string_view relative) {
  return std::string(ATTNSERVE_FUZZ_SOURCE_DIR) + "/" + std::string(relative);
}

const ModelConfig& FixtureConfig() {
  static const ModelConfig* config =
      new ModelConfig(OrDie(ModelConfig::FromModelDir(SourcePath("models/tiny-llama")), "config"));
  return *config;
}

const Tokenizer& FixtureTokenizer() {
  static const Tokenizer* tokenizer =
      OrDie(Tokenizer::FromFile(SourcePath("models/tiny-llama/tokenizer.json")), "tokenizer").release();
  return *tokenizer;
}

const server::ChatPrompt& FixtureChat() {
  static const server::ChatPrompt* chat =
      OrDie(server::ChatPrompt::Load(SourcePath("models/tiny-llama"),
                                     SourcePath("tests/golden/chat_templates/smollm2-1.7b-instruct.jinja"),
                                     FixtureTokenizer()),
            "chat prompt")
          .release();
  return *chat;
}

absl::Status ValidateLikeEngine(const GenerateSpec& spec) {
  if (absl::Status s = ValidateGenerateSpec(spec, FixtureLimits()); !s.ok()) return s;
  const size_t n = spec.prompt_token_ids.size();
  return FixturePlanner().Resolve(spec.attention, spec.context_policy, n, n + spec.max_tokens).status();
}

absl::Status ValidateLikeEngine(const ScoreSpec& spec) {
  if (absl::Status s = ValidateScoreSpec(spec, FixtureLimits()); !s.ok()) return s;
  const size_t n = spec.token_ids.size();
  return FixturePlanner().Resolve(spec.attention, spec.context_policy, n, n).status();
}

void RunFewSteps(const GenerateSpec& validated) {
  GenerateSpec spec = validated;
  if (!spec.sampling.seed) spec.sampling.seed = 0;  // reproducible (the engine seeds randomly)
  GenerationStream stream(spec, FixtureTokenizer(), FixtureConfig().eos_token_ids);
  std::vector<float> logits(FixtureConfig().vocab_size);
  for (int step = 0; step < 4; ++step) {
    for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>((i * 7919 + step * 31) % 97) / 8.0f;
    int32_t token = -1;
    GenerateDelta delta = stream.Advance(logits, token);
    if (delta.finish != FinishReason::kNone) return;
  }
  stream.Abort(FinishReason::kCancelled, absl::OkStatus());
}

bool Note(const char* stage, const absl::Status& status) {
  static const bool debug = std::getenv("ATTNSERVE_FUZZ_DEBUG") != nullptr;
  if (debug) std::fprintf(stderr, "  %s: %s\n", stage, status.ToString().c_str());
  return status.ok();
}

std::string TempDir() {
  static const std::string dir = [] {
    std::string d = absl::StrCat("/tmp/attnserve_fuzz_", getpid());
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(absl::StrCat("/tmp/attnserve_fuzz_", getpid()), ec);
    });
    return d;
  }();
  return dir;
}

std::string WriteTempFile(std::string_view name, const uint8_t* data, size_t size) {
  const std::string path = TempDir() + "/" + std::string(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  out.close();
  if (!out) {
    std::fprintf(stderr, "fuzz fixture: cannot write %s\n", path.c_str());
    std::abort();
  }
  return path;
}

}  // namespace attnserve::fuzz

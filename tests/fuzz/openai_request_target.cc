// Fuzz target: an OpenAI HTTP request body (server/http/openai_request) — ParseJsonBody, then
// ParseOpenAiRequest for /v1/completions and /v1/chat/completions against the tiny-llama fixture
// (ChatML template, served name "tiny-llama") — and every prompt of a parsed request through
// ToGenerateSpec and the engine's validation as server/http/openai_generation submits it (seed
// offset per choice), then a few generation steps when valid.
#include <string>

#include "server/http/openai_request.h"
#include "server/proto_convert.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {

int FuzzOpenAiRequest(const uint8_t* data, size_t size) {
  absl::StatusOr<nlohmann::ordered_json> body =
      server::http::ParseJsonBody(std::string(reinterpret_cast<const char*>(data), size));
  if (!Note("ParseJsonBody", body)) return 0;
  server::http::ParseContext context;
  context.tokenizer = &FixtureTokenizer();
  context.chat = &FixtureChat();
  context.served_model_name = kFixtureModelName;
  context.max_model_len = kFixtureMaxModelLen;
  for (auto endpoint : {server::http::Endpoint::kCompletions, server::http::Endpoint::kChatCompletions}) {
    absl::StatusOr<server::http::OpenAiRequest> parsed = server::http::ParseOpenAiRequest(endpoint, *body, context);
    if (!Note("ParseOpenAiRequest", parsed)) continue;
    const size_t choices = parsed->prompts.size() * parsed->n;
    for (size_t i = 0; i < choices && i < 8; ++i) {
      v1::GenerateRequest r = parsed->prompts[i / parsed->n];
      if (parsed->n > 1 && r.sampling().has_seed()) r.mutable_sampling()->set_seed(r.sampling().seed() + i % parsed->n);
      absl::StatusOr<GenerateSpec> spec = server::ToGenerateSpec(r, FixtureTokenizer());
      if (Note("ToGenerateSpec", spec) && Note("validate", ValidateLikeEngine(*spec))) RunFewSteps(*spec);
    }
  }
  return 0;
}

}  // namespace attnserve::fuzz

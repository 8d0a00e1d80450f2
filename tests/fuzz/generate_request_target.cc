// Fuzz target: the gRPC request path without a server. The bytes are parsed as a
// v1::GenerateRequest (ParseFromArray, as gRPC deserialises it) -> server::ToGenerateSpec (prompt
// tokenized, or `messages` rendered with the ChatML fixture template) -> the engine's validation
// for tiny-llama (ValidateGenerateSpec + RequestPlanner, what Engine::SubmitGenerate does before
// queueing) -> when valid, the request's GenerationStream for a few steps over fixed logits. The
// same bytes also go through ScoreRequest -> ToScoreSpec -> validation.
#include "attnserve/v1/inference.pb.h"
#include "server/proto_convert.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {

int FuzzGenerateRequest(const uint8_t* data, size_t size) {
  v1::GenerateRequest request;
  if (request.ParseFromArray(data, static_cast<int>(size))) {
    absl::StatusOr<GenerateSpec> spec = server::ToGenerateSpec(request, FixtureTokenizer(), &FixtureChat());
    if (Note("ToGenerateSpec", spec) && Note("validate generate", ValidateLikeEngine(*spec))) RunFewSteps(*spec);
  }
  v1::ScoreRequest score;
  if (score.ParseFromArray(data, static_cast<int>(size))) {
    absl::StatusOr<ScoreSpec> spec = server::ToScoreSpec(score, FixtureTokenizer());
    if (Note("ToScoreSpec", spec)) Note("validate score", ValidateLikeEngine(*spec));
  }
  return 0;
}

}  // namespace attnserve::fuzz

// Bad Generate inputs through the real daemon: each is refused with INVALID_ARGUMENT whose message
// names the offending field, the refusal is counted in /metrics, and the daemon keeps serving.
#include <functional>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

struct BadInput {
  std::string name;
  std::function<void(v1::GenerateRequest&, const v1::ModelInfo&)> mutate;  // on a valid request
  std::string field;  // must appear in the error message
};

void PrintTo(const BadInput& input, std::ostream* os) { *os << input.name; }

class ValidationTest : public DaemonTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(ValidationTest, RejectedWithInvalidArgumentNamingTheField) {
  v1::GenerateRequest request = GreedyRequest("A valid prompt", 4);
  GetParam().mutate(request, model_info());
  const std::optional<double> rejected_before = MetricValue(
      MetricsText(), "attnserve_requests_rejected_total", R"(reason="invalid_argument")");

  const GenerateResult result = Generate(stub(), request);
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << result.status.error_message();
  EXPECT_NE(result.status.error_message().find(GetParam().field), std::string::npos)
      << "message \"" << result.status.error_message() << "\" does not name " << GetParam().field;
  EXPECT_TRUE(result.responses.empty());

  const std::optional<double> rejected_after = MetricValue(
      MetricsText(), "attnserve_requests_rejected_total", R"(reason="invalid_argument")");
  ASSERT_TRUE(rejected_before.has_value() && rejected_after.has_value());
  EXPECT_EQ(*rejected_after, *rejected_before + 1);
  ExpectStillServing();
}

const BadInput kBadInputs[] = {
    {"EmptyPrompt", [](auto& r, auto&) { r.clear_prompt(); }, "prompt"},
    {"PromptAndTokenIds", [](auto& r, auto&) { r.add_prompt_token_ids(1); }, "prompt_token_ids"},
    {"TokenIdAtVocabSize",
     [](auto& r, auto& info) {
       r.clear_prompt();
       r.add_prompt_token_ids(1);
       r.add_prompt_token_ids(static_cast<int32_t>(info.vocab_size()));
     },
     "prompt_token_ids"},
    {"NegativeTokenId",
     [](auto& r, auto&) {
       r.clear_prompt();
       r.add_prompt_token_ids(-1);
     },
     "prompt_token_ids"},
    {"BeyondContext", [](auto& r, auto& info) { r.set_max_tokens(info.max_context()); },
     "max_tokens"},
    {"MaxTokensZero", [](auto& r, auto&) { r.set_max_tokens(0); }, "max_tokens"},
    {"NegativeTemperature", [](auto& r, auto&) { r.mutable_sampling()->set_temperature(-0.5f); },
     "temperature"},
    {"TopPZero", [](auto& r, auto&) { r.mutable_sampling()->set_top_p(0.0f); }, "top_p"},
    {"TopPAboveOne", [](auto& r, auto&) { r.mutable_sampling()->set_top_p(1.5f); }, "top_p"},
    {"StopTokenOutOfVocab",
     [](auto& r, auto& info) { r.add_stop_token_ids(static_cast<int32_t>(info.vocab_size()) + 7); },
     "stop_token_ids"},
    {"TopLogprobs21", [](auto& r, auto&) { r.set_top_logprobs(21); }, "top_logprobs"},
    {"UnknownAttentionBackend", [](auto& r, auto&) { r.mutable_attention()->set_backend("flash3"); },
     "attention.backend"},
    {"AttentionWindowZero",
     [](auto& r, auto&) {
       r.mutable_attention()->set_backend("sliding_window");
       r.mutable_attention()->set_window(0);
     },
     "attention.window"},
    {"MoreGlobalTokensThanThePrompt",
     [](auto& r, auto&) {
       r.mutable_attention()->set_backend("longformer");
       r.mutable_attention()->set_global_tokens(1000);
     },
     "attention.global_tokens"},
    {"PerformerWithoutFeatures",
     [](auto& r, auto&) {
       r.mutable_attention()->set_backend("performer");
       r.mutable_attention()->set_num_features(0);
     },
     "attention.num_features"},
    {"AttentionParameterOfAnotherBackend",
     [](auto& r, auto&) {
       r.mutable_attention()->set_backend("full");
       r.mutable_attention()->set_random_blocks(2);
     },
     "attention.random_blocks"},
};

INSTANTIATE_TEST_SUITE_P(BadInputs, ValidationTest, ::testing::ValuesIn(kBadInputs),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace attnserve::testing

// Request validation: each bad field -> INVALID_ARGUMENT whose message names the field.
#include "engine/request/request_validation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>

namespace attnserve {
namespace {

const ValidationLimits kLimits{.vocab_size = 100, .max_model_len = 64};

GenerateSpec Good() {
  GenerateSpec s;
  s.prompt_token_ids = {1, 2, 3};
  s.max_tokens = 8;
  return s;
}

void ExpectInvalid(const std::function<void(GenerateSpec&)>& edit, const std::string& field) {
  GenerateSpec s = Good();
  edit(s);
  absl::Status status = ValidateGenerateSpec(s, kLimits);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << field;
  EXPECT_NE(status.message().find(field), std::string::npos) << status.message();
}

TEST(RequestValidationTest, GoodRequestPasses) {
  EXPECT_TRUE(ValidateGenerateSpec(Good(), kLimits).ok());
}

TEST(RequestValidationTest, EachBadFieldIsNamed) {
  ExpectInvalid([](auto& s) { s.prompt_token_ids.clear(); }, "prompt");
  ExpectInvalid([](auto& s) { s.prompt_token_ids[1] = 100; }, "prompt_token_ids[1]");
  ExpectInvalid([](auto& s) { s.prompt_token_ids[0] = -1; }, "prompt_token_ids[0]");
  ExpectInvalid([](auto& s) { s.max_tokens = 0; }, "max_tokens");
  ExpectInvalid([](auto& s) { s.max_tokens = 62; }, "max_tokens");
  ExpectInvalid([](auto& s) { s.sampling.temperature = -0.5f; }, "sampling.temperature");
  ExpectInvalid([](auto& s) { s.sampling.top_p = 0.0f; }, "sampling.top_p");
  ExpectInvalid([](auto& s) { s.sampling.top_p = 1.5f; }, "sampling.top_p");
  ExpectInvalid([](auto& s) { s.sampling.top_k = -2; }, "sampling.top_k");
  ExpectInvalid([](auto& s) { s.sampling.min_p = 2.0f; }, "sampling.min_p");
  ExpectInvalid([](auto& s) { s.sampling.repetition_penalty = 0.0f; }, "sampling.repetition_penalty");
  ExpectInvalid([](auto& s) { s.sampling.presence_penalty = 3.0f; }, "sampling.presence_penalty");
  ExpectInvalid([](auto& s) { s.sampling.frequency_penalty = -3.0f; }, "sampling.frequency_penalty");
  ExpectInvalid([](auto& s) { s.stop_token_ids = {5, 1000}; }, "stop_token_ids[1]");
  ExpectInvalid([](auto& s) { s.top_logprobs = 21; }, "top_logprobs");
  ExpectInvalid([](auto& s) { s.sampling.logit_bias = {{100, 1.0f}}; }, "sampling.logit_bias");
  ExpectInvalid([](auto& s) { s.sampling.logit_bias = {{-1, 1.0f}}; }, "sampling.logit_bias");
  ExpectInvalid([](auto& s) { s.sampling.logit_bias = {{3, 100.5f}}; }, "sampling.logit_bias[3]");
  ExpectInvalid([](auto& s) { s.sampling.logit_bias = {{3, NAN}}; }, "sampling.logit_bias[3]");
}

TEST(RequestValidationTest, ContextLimitIsExact) {
  GenerateSpec s = Good();
  s.max_tokens = 61;  // 3 + 61 = 64 == max_model_len
  EXPECT_TRUE(ValidateGenerateSpec(s, kLimits).ok());
}

TEST(RequestValidationTest, ScoreSpec) {
  ScoreSpec s;
  EXPECT_EQ(ValidateScoreSpec(s, kLimits).code(), absl::StatusCode::kInvalidArgument);
  s.token_ids = {1, 2, 300};
  EXPECT_NE(ValidateScoreSpec(s, kLimits).message().find("token_ids[2]"), std::string::npos);
  s.token_ids.assign(65, 1);
  EXPECT_EQ(ValidateScoreSpec(s, kLimits).code(), absl::StatusCode::kInvalidArgument);
  s.token_ids.assign(64, 1);
  EXPECT_TRUE(ValidateScoreSpec(s, kLimits).ok());
}

}  // namespace
}  // namespace attnserve

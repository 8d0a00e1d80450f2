// End-to-end Score, Tokenize, Detokenize and GetModelInfo through the real daemon.
#include <cmath>
#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

class ScoreTokenizeTest : public DaemonTest {
 protected:
  static v1::TokenizeResponse Tokenize(const std::string& text, bool add_special_tokens) {
    grpc::ClientContext context;
    v1::TokenizeRequest request;
    request.set_text(text);
    request.set_add_special_tokens(add_special_tokens);
    v1::TokenizeResponse response;
    const grpc::Status status = stub().Tokenize(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }
  static grpc::Status Score(const v1::ScoreRequest& request, v1::ScoreResponse* response) {
    grpc::ClientContext context;
    return stub().Score(&context, request, response);
  }
};

TEST_F(ScoreTokenizeTest, ScorePromptGivesOneLogprobPerPredictedToken) {
  v1::ScoreRequest request;
  request.set_prompt("The quick brown fox jumps over the lazy dog");
  v1::ScoreResponse response;
  const grpc::Status status = Score(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const v1::TokenizeResponse tokens = Tokenize(request.prompt(), true);
  ASSERT_EQ(response.token_ids_size(), tokens.token_ids_size());
  EXPECT_TRUE(std::equal(response.token_ids().begin(), response.token_ids().end(),
                         tokens.token_ids().begin()));
  ASSERT_EQ(response.token_logprobs_size(), response.token_ids_size() - 1);
  for (float lp : response.token_logprobs()) {
    EXPECT_TRUE(std::isfinite(lp));
    EXPECT_LE(lp, 1e-5f);
  }
  EXPECT_EQ(response.logits_size(), 0);
}

TEST_F(ScoreTokenizeTest, ScoreLogitsMatchLogprobs) {
  v1::ScoreRequest request;
  for (int32_t id : {1, 10, 20, 30, 40, 50}) request.add_token_ids(id);
  request.set_return_logits(true);
  v1::ScoreResponse response;
  const grpc::Status status = Score(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const int64_t n = request.token_ids_size();
  const int64_t vocab = model_info().vocab_size();
  EXPECT_EQ(response.vocab_size(), vocab);
  ASSERT_EQ(response.logits_size(), n * vocab);
  ASSERT_EQ(response.token_logprobs_size(), n - 1);
  // token_logprobs[i] = log_softmax(logits[i])[token_ids[i + 1]]
  for (int64_t i = 0; i + 1 < n; ++i) {
    const float* row = response.logits().data() + i * vocab;
    double max = row[0];
    for (int64_t v = 1; v < vocab; ++v) max = std::max<double>(max, row[v]);
    double sum = 0;
    for (int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - max);
    const double expected = row[request.token_ids(i + 1)] - max - std::log(sum);
    EXPECT_NEAR(response.token_logprobs(i), expected, 1e-3) << "position " << i;
  }
}

TEST_F(ScoreTokenizeTest, ScoreRejectsBothOrNeitherInput) {
  v1::ScoreResponse response;
  v1::ScoreRequest neither;
  EXPECT_EQ(Score(neither, &response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  v1::ScoreRequest both;
  both.set_prompt("hello");
  both.add_token_ids(1);
  both.add_token_ids(2);
  const grpc::Status status = Score(both, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("prompt"), std::string::npos) << status.error_message();
  ExpectStillServing();
}

TEST_F(ScoreTokenizeTest, TokenizeDetokenizeRoundTrip) {
  for (const std::string text : {"Hello world", "  spaces and\nnewlines\t!", "numbers 12345",
                                 "caf\xC3\xA9 na\xC3\xAFve \xE2\x9C\x93"}) {
    const v1::TokenizeResponse tokens = Tokenize(text, /*add_special_tokens=*/false);
    ASSERT_GT(tokens.token_ids_size(), 0) << text;
    EXPECT_EQ(tokens.tokens_size(), tokens.token_ids_size());
    grpc::ClientContext context;
    v1::DetokenizeRequest request;
    *request.mutable_token_ids() = tokens.token_ids();
    v1::DetokenizeResponse response;
    const grpc::Status status = stub().Detokenize(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.text(), text);
  }
}

TEST_F(ScoreTokenizeTest, TokenizeAddsSpecialTokensByDefault) {
  ASSERT_GE(model_info().bos_token_id(), 0) << "the default model has a BOS token";
  grpc::ClientContext context;
  v1::TokenizeRequest request;
  request.set_text("Hello");
  v1::TokenizeResponse with_special;
  ASSERT_TRUE(stub().Tokenize(&context, request, &with_special).ok());
  const v1::TokenizeResponse without = Tokenize("Hello", false);
  ASSERT_GT(with_special.token_ids_size(), 0);
  EXPECT_EQ(with_special.token_ids(0), model_info().bos_token_id());
  EXPECT_EQ(with_special.token_ids_size(), without.token_ids_size() + 1);
}

TEST_F(ScoreTokenizeTest, DetokenizeRejectsIdsOutsideTheVocabulary) {
  grpc::ClientContext context;
  v1::DetokenizeRequest request;
  request.add_token_ids(static_cast<int32_t>(model_info().vocab_size()));
  v1::DetokenizeResponse response;
  const grpc::Status status = stub().Detokenize(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("token_ids"), std::string::npos);
}

TEST_F(ScoreTokenizeTest, ModelInfoMatchesConfigJson) {
  std::ifstream in(DefaultModelDir() + "/config.json");
  ASSERT_TRUE(in) << "cannot read " << DefaultModelDir() << "/config.json";
  const nlohmann::json config = nlohmann::json::parse(in);
  const v1::ModelInfo& info = model_info();
  EXPECT_EQ(info.architecture(), config.at("architectures")[0].get<std::string>());
  EXPECT_EQ(info.vocab_size(), config.at("vocab_size").get<uint32_t>());
  EXPECT_EQ(info.num_layers(), config.at("num_hidden_layers").get<uint32_t>());
  EXPECT_EQ(info.hidden_size(), config.at("hidden_size").get<uint32_t>());
  EXPECT_EQ(info.num_attention_heads(), config.at("num_attention_heads").get<uint32_t>());
  EXPECT_EQ(info.max_context(), config.at("max_position_embeddings").get<uint32_t>());
  EXPECT_EQ(info.layers_size(), static_cast<int>(info.num_layers()));
  for (int i = 0; i < info.layers_size(); ++i) {
    EXPECT_EQ(info.layers(i).index(), static_cast<uint32_t>(i));
    EXPECT_FALSE(info.layers(i).mixer().empty());
  }
  EXPECT_GT(info.head_dim(), 0u);
  EXPECT_GT(info.num_key_value_heads(), 0u);
  EXPECT_FALSE(info.weights_dtype().empty());
  EXPECT_EQ(info.compute_dtype(), "float32");
  EXPECT_FALSE(info.backend().empty());
  EXPECT_GT(info.num_parameters(), 0u);
  EXPECT_GT(info.eos_token_ids_size(), 0);
  EXPECT_NE(info.model_path().find(std::filesystem::path(DefaultModelDir()).filename().string()),
            std::string::npos);
}

}  // namespace
}  // namespace attnserve::testing

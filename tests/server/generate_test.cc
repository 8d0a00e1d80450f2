// End-to-end Generate through the real daemon: streaming, usage, text/ids consistency,
// determinism (greedy and seeded), logprobs, stop tokens and request ids.
#include <cmath>
#include <algorithm>
#include <set>
#include <thread>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

class GenerateTest : public DaemonTest {};

std::string Detokenize(v1::Inference::Stub& stub, const std::vector<int32_t>& ids) {
  grpc::ClientContext context;
  v1::DetokenizeRequest request;
  request.mutable_token_ids()->Add(ids.begin(), ids.end());
  v1::DetokenizeResponse response;
  const grpc::Status status = stub.Detokenize(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.text();
}

size_t NumPromptTokens(v1::Inference::Stub& stub, const std::string& text) {
  grpc::ClientContext context;
  v1::TokenizeRequest request;
  request.set_text(text);
  v1::TokenizeResponse response;
  EXPECT_TRUE(stub.Tokenize(&context, request, &response).ok());
  return response.token_ids_size();
}

TEST_F(GenerateTest, StreamsMaxTokensWithUsageAndConsistentText) {
  const uint32_t kMaxTokens = 12;
  const GenerateResult result = Generate(stub(), GreedyRequest("Once upon a time", kMaxTokens));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  ASSERT_GE(result.responses.size(), 1u);
  const std::vector<int32_t> ids = result.AllTokenIds();
  EXPECT_EQ(ids.size(), kMaxTokens);
  const v1::GenerateResponse& last = result.Last();
  EXPECT_EQ(last.finish_reason(), v1::LENGTH);
  EXPECT_EQ(last.usage().completion_tokens(), kMaxTokens);
  EXPECT_EQ(last.usage().prompt_tokens(), NumPromptTokens(stub(), "Once upon a time"));
  for (size_t i = 0; i + 1 < result.responses.size(); ++i) {
    EXPECT_EQ(result.responses[i].finish_reason(), v1::FINISH_REASON_UNSPECIFIED) << "message " << i;
  }
  for (int32_t id : ids) {
    EXPECT_GE(id, 0);
    EXPECT_LT(id, static_cast<int32_t>(model_info().vocab_size()));
  }
  EXPECT_EQ(result.AllText(), Detokenize(stub(), ids));
  EXPECT_FALSE(last.request_id().empty());
}

TEST_F(GenerateTest, PromptTokenIdsWork) {
  v1::GenerateRequest request = GreedyRequest("", 4);
  request.add_prompt_token_ids(model_info().bos_token_id() >= 0 ? model_info().bos_token_id() : 1);
  request.add_prompt_token_ids(7);
  request.add_prompt_token_ids(8);
  const GenerateResult result = Generate(stub(), request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.AllTokenIds().size(), 4u);
  EXPECT_EQ(result.Last().usage().prompt_tokens(), 3u);
}

TEST_F(GenerateTest, GreedyIsDeterministic) {
  const v1::GenerateRequest request = GreedyRequest("The capital of France is", 10);
  const GenerateResult first = Generate(stub(), request);
  const GenerateResult second = Generate(stub(), request);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(first.AllTokenIds(), second.AllTokenIds());
  EXPECT_EQ(first.AllText(), second.AllText());
}

TEST_F(GenerateTest, SeededSamplingIsReproducible) {
  v1::GenerateRequest request = GreedyRequest("Tell me a story", 16);
  request.mutable_sampling()->set_temperature(1.0f);
  request.mutable_sampling()->set_top_p(0.9f);
  request.mutable_sampling()->set_seed(1234);
  const GenerateResult first = Generate(stub(), request);
  const GenerateResult second = Generate(stub(), request);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_EQ(first.AllTokenIds().size(), 16u);
  EXPECT_EQ(first.AllTokenIds(), second.AllTokenIds());
}

TEST_F(GenerateTest, LogprobsAndTopLogprobs) {
  v1::GenerateRequest request = GreedyRequest("Hello", 5);
  request.set_top_logprobs(3);  // implies logprobs
  const GenerateResult result = Generate(stub(), request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  size_t num_logprobs = 0;
  for (const auto& response : result.responses) {
    ASSERT_EQ(response.logprobs_size(), response.token_ids_size());
    for (int i = 0; i < response.logprobs_size(); ++i) {
      const v1::TokenLogprob& lp = response.logprobs(i);
      ++num_logprobs;
      EXPECT_EQ(lp.token_id(), response.token_ids(i));
      EXPECT_LE(lp.logprob(), 1e-5f);
      EXPECT_TRUE(std::isfinite(lp.logprob()));
      ASSERT_EQ(lp.top_logprobs_size(), 3);
      for (int k = 0; k < 3; ++k) {
        EXPECT_LE(lp.top_logprobs(k).logprob(), 1e-5f);
        if (k > 0) {
          EXPECT_LE(lp.top_logprobs(k).logprob(), lp.top_logprobs(k - 1).logprob());
        }
      }
      // Greedy: the sampled token is the most likely one.
      EXPECT_EQ(lp.top_logprobs(0).token_id(), lp.token_id());
      EXPECT_NEAR(lp.top_logprobs(0).logprob(), lp.logprob(), 1e-4);
    }
  }
  EXPECT_EQ(num_logprobs, 5u);
}

TEST_F(GenerateTest, StopTokenIdEndsGeneration) {
  const GenerateResult free_run = Generate(stub(), GreedyRequest("Once upon a time", 8));
  ASSERT_TRUE(free_run.status.ok()) << free_run.status.error_message();
  const std::vector<int32_t> ids = free_run.AllTokenIds();
  ASSERT_EQ(ids.size(), 8u);
  const int32_t stop_id = ids[3];
  v1::GenerateRequest request = GreedyRequest("Once upon a time", 8);
  request.add_stop_token_ids(stop_id);
  const GenerateResult stopped = Generate(stub(), request);
  ASSERT_TRUE(stopped.status.ok()) << stopped.status.error_message();
  const std::vector<int32_t> stopped_ids = stopped.AllTokenIds();
  // Ends right after the first occurrence of stop_id (the stop token itself is emitted).
  const size_t first = std::find(ids.begin(), ids.end(), stop_id) - ids.begin();
  EXPECT_EQ(stopped_ids, std::vector<int32_t>(ids.begin(), ids.begin() + first + 1));
  EXPECT_EQ(stopped.Last().finish_reason(), v1::STOP);
  EXPECT_EQ(stopped.Last().stop_reason(), "token:" + std::to_string(stop_id));
}

TEST_F(GenerateTest, RequestIdsAreEchoedOrAssignedUniquely) {
  v1::GenerateRequest request = GreedyRequest("Hi", 2);
  request.set_request_id("my-request-42");
  const GenerateResult named = Generate(stub(), request);
  ASSERT_TRUE(named.status.ok()) << named.status.error_message();
  for (const auto& r : named.responses) EXPECT_EQ(r.request_id(), "my-request-42");

  std::set<std::string> assigned;
  for (int i = 0; i < 3; ++i) {
    const GenerateResult result = Generate(stub(), GreedyRequest("Hi", 1));
    ASSERT_TRUE(result.status.ok()) << result.status.error_message();
    assigned.insert(result.Last().request_id());
  }
  EXPECT_EQ(assigned.size(), 3u);
  EXPECT_EQ(assigned.count(""), 0u);
}

TEST_F(GenerateTest, ConcurrentStreamsAllComplete) {
  constexpr int kStreams = 4;
  std::vector<GenerateResult> results(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i) {
    threads.emplace_back([&results, i] {
      results[i] = Generate(stub(), GreedyRequest("Stream number " + std::to_string(i), 8));
    });
  }
  for (auto& t : threads) t.join();
  const GenerateResult alone = Generate(stub(), GreedyRequest("Stream number 0", 8));
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(results[i].status.ok()) << i << ": " << results[i].status.error_message();
    EXPECT_EQ(results[i].AllTokenIds().size(), 8u);
  }
  // Batch invariance of greedy decoding (docs/architecture.md, "Correctness").
  EXPECT_EQ(results[0].AllTokenIds(), alone.AllTokenIds());
}

}  // namespace
}  // namespace attnserve::testing

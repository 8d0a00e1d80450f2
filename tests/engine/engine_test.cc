// Engine behaviour on the embedded default model: seeded sampling reproducible alone and in a
// batch, stop tokens and strings, cancellation and deadlines that free the sequence, queue
// limits, logprobs.
#include <gtest/gtest.h>

#include <thread>

#include "engine_test_util.h"

namespace attnserve {
namespace {

using testing::CollectingSink;
using testing::GreedySpec;

class EngineTest : public ::testing::Test {
 protected:
  std::unique_ptr<Engine> Make(EngineOptions options = {}) {
    options.model_dir = ATTNSERVE_TEST_MODEL_DIR;
    auto engine = Engine::Load(options);
    EXPECT_TRUE(engine.ok()) << engine.status();
    return std::move(*engine);
  }
  std::vector<int32_t> Prompt(const Engine& e, const std::string& text) {
    return e.tokenizer().Encode(text, true);
  }
};

TEST_F(EngineTest, SeededSamplingIsReproducibleAloneAndBatched) {
  auto engine = Make({.max_num_seqs = 8});
  engine->Start();
  auto spec = [&](const std::string& id, uint64_t seed) {
    GenerateSpec s;
    s.request_id = id;
    s.prompt_token_ids = Prompt(*engine, "Once upon a time");
    s.max_tokens = 24;
    s.ignore_eos = true;
    s.sampling.temperature = 0.9f;
    s.sampling.top_p = 0.95f;
    s.sampling.top_k = 50;
    s.sampling.seed = seed;
    return s;
  };
  auto alone = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(spec("alone", 7), alone).ok());
  alone->Wait();
  std::vector<std::shared_ptr<CollectingSink>> batch;
  for (int i = 0; i < 6; ++i) {
    batch.push_back(std::make_shared<CollectingSink>());
    ASSERT_TRUE(engine->SubmitGenerate(spec("b" + std::to_string(i), i % 2 ? 7 : 8), batch.back()).ok());
  }
  for (auto& s : batch) s->Wait();
  EXPECT_EQ(alone->token_ids.size(), 24u);
  EXPECT_EQ(batch[1]->token_ids, alone->token_ids);
  EXPECT_EQ(batch[3]->token_ids, alone->token_ids);
  EXPECT_EQ(batch[0]->token_ids, batch[2]->token_ids);
  EXPECT_NE(batch[0]->token_ids, alone->token_ids);  // another seed, another sample
}

TEST_F(EngineTest, StreamedTextEqualsDecodeOfTokens) {
  auto engine = Make();
  engine->Start();
  auto sink = std::make_shared<CollectingSink>();
  GenerateSpec s = GreedySpec("t", Prompt(*engine, "The quick brown fox"), 40);
  s.sampling.temperature = 1.0f;
  s.sampling.seed = 3;
  ASSERT_TRUE(engine->SubmitGenerate(s, sink).ok());
  sink->Wait();
  EXPECT_EQ(sink->text, engine->tokenizer().Decode(sink->token_ids, true));
  EXPECT_EQ(sink->deltas.back().completion_tokens, 40u);
  EXPECT_EQ(sink->deltas.back().prompt_tokens, s.prompt_token_ids.size());
}

TEST_F(EngineTest, StopTokenEndsGenerationWithStop) {
  auto engine = Make();
  engine->Start();
  // Find the greedy continuation, then ask to stop at its 5th token.
  auto first = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("a", Prompt(*engine, "Hello"), 10), first).ok());
  first->Wait();
  const int32_t stop_id = first->token_ids[4];
  const size_t stop_at = std::find(first->token_ids.begin(), first->token_ids.end(), stop_id) - first->token_ids.begin();
  GenerateSpec s = GreedySpec("b", Prompt(*engine, "Hello"), 10);
  s.stop_token_ids = {stop_id};
  auto second = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(s, second).ok());
  second->Wait();
  EXPECT_EQ(second->token_ids.size(), stop_at + 1);
  EXPECT_EQ(second->deltas.back().finish, FinishReason::kStop);
  EXPECT_EQ(second->deltas.back().stop_reason, "token:" + std::to_string(stop_id));
}

TEST_F(EngineTest, StopStringNeverLeaksIntoText) {
  auto engine = Make();
  engine->Start();
  auto first = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("a", Prompt(*engine, "It was"), 30), first).ok());
  first->Wait();
  // A stop string made of the middle of the greedy text (likely spanning tokens).
  const std::string full = first->text;
  ASSERT_GE(full.size(), 12u);
  const std::string stop = full.substr(full.size() / 2, 4);
  GenerateSpec s = GreedySpec("b", Prompt(*engine, "It was"), 30);
  s.stop = {stop};
  auto second = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(s, second).ok());
  second->Wait();
  EXPECT_EQ(second->deltas.back().finish, FinishReason::kStop);
  EXPECT_EQ(second->deltas.back().stop_reason, stop);
  EXPECT_EQ(second->text, full.substr(0, full.find(stop)));
}

TEST_F(EngineTest, LogprobsAreNormalisedAndTopSorted) {
  auto engine = Make();
  engine->Start();
  GenerateSpec s = GreedySpec("lp", Prompt(*engine, "A"), 5);
  s.logprobs = true;
  s.top_logprobs = 3;
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(s, sink).ok());
  sink->Wait();
  int n = 0;
  for (const GenerateDelta& d : sink->deltas) {
    ASSERT_EQ(d.logprobs.size(), d.token_ids.size());
    for (const TokenLogprob& lp : d.logprobs) {
      ++n;
      ASSERT_EQ(lp.top.size(), 3u);
      EXPECT_LE(lp.logprob, 0.0f);
      EXPECT_EQ(lp.top[0].token_id, lp.token_id);  // greedy: the sampled token is the best
      EXPECT_GE(lp.top[0].logprob, lp.top[1].logprob);
      EXPECT_GE(lp.top[1].logprob, lp.top[2].logprob);
    }
  }
  EXPECT_EQ(n, 5);
}

TEST_F(EngineTest, CancelEndsRequestAndFreesItsSequence) {
  auto engine = Make();
  engine->Start();
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("long", Prompt(*engine, "Go"), 1500), sink).ok());
  while (sink->token_ids_size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  engine->Cancel("long");
  ASSERT_TRUE(sink->WaitFor(std::chrono::seconds(10)));
  EXPECT_EQ(sink->deltas.back().finish, FinishReason::kCancelled);
  EXPECT_LT(sink->token_ids.size(), 1500u);
  for (int i = 0; i < 100 && engine->CurrentStatus().num_running != 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(engine->CurrentStatus().num_running, 0);
  EXPECT_EQ(engine->CurrentStatus().num_waiting, 0);
  // The same request id is free again.
  auto again = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("long", Prompt(*engine, "Go"), 2), again).ok());
  again->Wait();
}

TEST_F(EngineTest, DeadlineEndsRequestWithDeadlineExceeded) {
  auto engine = Make();
  engine->Start();
  GenerateSpec s = GreedySpec("dl", Prompt(*engine, "Go"), 1500);
  s.deadline = Clock::now() + std::chrono::milliseconds(50);
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(s, sink).ok());
  ASSERT_TRUE(sink->WaitFor(std::chrono::seconds(10)));
  EXPECT_EQ(sink->deltas.back().finish, FinishReason::kError);
  EXPECT_EQ(sink->deltas.back().error.code(), absl::StatusCode::kDeadlineExceeded);
}

TEST_F(EngineTest, FullQueueIsResourceExhaustedAndDuplicateIdRejected) {
  auto engine = Make({.max_waiting_requests = 2});  // not started: requests stay queued
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("q1", {1, 2}, 4), sink).ok());
  EXPECT_EQ(engine->SubmitGenerate(GreedySpec("q1", {1, 2}, 4), std::make_shared<CollectingSink>()).code(),
            absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("q2", {1, 2}, 4), std::make_shared<CollectingSink>()).ok());
  absl::Status full = engine->SubmitGenerate(GreedySpec("q3", {1, 2}, 4), std::make_shared<CollectingSink>());
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(full.message().find("max_waiting_requests"), std::string::npos);
  engine->Stop();  // queued requests end as cancelled
  ASSERT_TRUE(sink->WaitFor(std::chrono::seconds(1)));
  EXPECT_EQ(sink->deltas.back().finish, FinishReason::kCancelled);
}

TEST_F(EngineTest, StartupErrorsNameTheFile) {
  EngineOptions options;
  options.model_dir = "/nonexistent/model";
  auto missing = Engine::Load(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/model"), std::string::npos);
}

}  // namespace
}  // namespace attnserve

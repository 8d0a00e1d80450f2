// Continuous batching through the Engine on the embedded model: batch invariance with 16
// concurrent requests, preemption by recompute under a small KV pool, prefix caching measured on
// the counters and on the work done, and cancellation returning every block.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "engine_test_util.h"

namespace attnserve {
namespace {

using testing::BlockWatchingSink;
using testing::CollectingSink;
using testing::GreedySpec;
using testing::MakeEngine;
using testing::RandomPrompt;


// Greedy tokens of each prompt, run one at a time.
std::vector<std::vector<int32_t>> RunAlone(const std::vector<std::vector<int32_t>>& prompts, uint32_t n) {
  auto engine = MakeEngine({.max_num_seqs = 1});
  engine->Start();
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto sink = std::make_shared<CollectingSink>();
    EXPECT_TRUE(engine->SubmitGenerate(GreedySpec("a" + std::to_string(i), prompts[i], n), sink).ok());
    sink->Wait();
    out.push_back(sink->token_ids);
  }
  return out;
}

std::vector<std::vector<int32_t>> RunTogether(Engine& engine, const std::vector<std::vector<int32_t>>& prompts,
                                              uint32_t n) {
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (size_t i = 0; i < prompts.size(); ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    EXPECT_TRUE(engine.SubmitGenerate(GreedySpec("b" + std::to_string(i), prompts[i], n), sinks.back()).ok());
  }
  engine.Start();
  std::vector<std::vector<int32_t>> out;
  for (auto& s : sinks) {
    s->Wait();
    out.push_back(s->token_ids);
  }
  return out;
}

TEST(BatchingTest, SixteenConcurrentGreedyRequestsMatchEachAlone) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 16; ++i) prompts.push_back(RandomPrompt(5 + 7 * i, 100 + i));
  const auto alone = RunAlone(prompts, 24);
  auto engine = MakeEngine({.max_num_seqs = 16, .max_num_batched_tokens = 64});
  EXPECT_EQ(RunTogether(*engine, prompts, 24), alone);
}

TEST(BatchingTest, PreemptionByRecomputeKeepsResultsAndFreesMemory) {
  std::vector<std::vector<int32_t>> prompts;
  for (int i = 0; i < 6; ++i) prompts.push_back(RandomPrompt(20, 200 + i));
  const auto alone = RunAlone(prompts, 60);
  // 128-token context, a pool of 160 tokens (10 blocks): six sequences of 80 cannot all fit.
  const int64_t per_token = 2 * 4 * 64 * 4;  // layers 4, kv_dim 64, f32, K and V
  auto engine = MakeEngine({.max_model_len = 128, .max_num_seqs = 6, .kv_cache_bytes = 160 * per_token,
                            .block_size = 16});
  EXPECT_EQ(RunTogether(*engine, prompts, 60), alone);
  const Engine::Status_ s = testing::SettledStatus(*engine);
  EXPECT_GT(s.num_preemptions_total, 0);
  EXPECT_EQ(s.kv_blocks_total, 10);
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.num_running + s.num_waiting, 0);
}

TEST(BatchingTest, SharedPrefixIsComputedOnce) {
  auto engine = MakeEngine({.max_num_batched_tokens = 512});
  engine->Start();
  const std::vector<int32_t> prefix = RandomPrompt(1000, 7);
  auto run = [&](const std::string& id, std::vector<int32_t> suffix) {
    std::vector<int32_t> prompt = prefix;
    prompt.insert(prompt.end(), suffix.begin(), suffix.end());
    auto sink = std::make_shared<CollectingSink>();
    EXPECT_TRUE(engine->SubmitGenerate(GreedySpec(id, prompt, 4), sink).ok());
    sink->Wait();
  };
  run("first", {11, 12, 13});
  const Engine::Status_ before = testing::SettledStatus(*engine);
  EXPECT_EQ(before.prefix_cache_hits_total, 0);
  run("second", {21, 22, 23, 24, 25});
  const Engine::Status_ after = testing::SettledStatus(*engine);
  // 1000 shared tokens = 62 full blocks of 16 (992 tokens) reused.
  EXPECT_EQ(after.prefix_cache_hits_total - before.prefix_cache_hits_total, 992);
  EXPECT_EQ(after.prefix_cache_queries_total - before.prefix_cache_queries_total, 1005);
  // Work done for the second request: its 13 uncached prompt tokens + 3 decode steps.
  EXPECT_EQ(after.tokens_computed_total - before.tokens_computed_total, 1005 - 992 + 3);
}

TEST(BatchingTest, CancelledRequestsReturnEveryBlock) {
  auto engine = MakeEngine({.max_num_seqs = 4});
  engine->Start();
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (int i = 0; i < 6; ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("c" + std::to_string(i), RandomPrompt(50, i), 1500), sinks.back()).ok());
  }
  while (sinks[0]->token_ids_size() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 6; ++i) engine->Cancel("c" + std::to_string(i));
  for (auto& s : sinks) ASSERT_TRUE(s->WaitFor(std::chrono::seconds(10)));
  const Engine::Status_ s = testing::SettledStatus(*engine);
  EXPECT_EQ(s.num_running, 0);
  EXPECT_EQ(s.num_waiting, 0);
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_TRUE(engine->Idle());
}

TEST(BatchingTest, DrainRefusesNewRequestsAndFinishesAdmittedOnes) {
  auto engine = MakeEngine({});
  engine->Start();
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("d", RandomPrompt(10, 1), 50), sink).ok());
  engine->BeginDrain();
  absl::Status refused = engine->SubmitGenerate(GreedySpec("e", RandomPrompt(10, 2), 5), std::make_shared<CollectingSink>());
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  sink->Wait();
  EXPECT_EQ(sink->deltas.back().finish, FinishReason::kLength);
  EXPECT_EQ(sink->token_ids.size(), 50u);
  for (int i = 0; i < 100 && !engine->Idle(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(engine->Idle());
  EXPECT_TRUE(engine->CurrentStatus().draining);
}

TEST(BatchingTest, MaxQueueTimeEndsWaitingRequests) {
  auto engine = MakeEngine({.max_num_seqs = 1, .max_queue_time_s = 0.05});
  engine->Start();
  auto busy = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("busy", RandomPrompt(10, 1), 1900), busy).ok());
  auto queued = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("queued", RandomPrompt(10, 2), 5), queued).ok());
  ASSERT_TRUE(queued->WaitFor(std::chrono::seconds(10)));
  EXPECT_EQ(queued->deltas.back().finish, FinishReason::kError);
  EXPECT_EQ(queued->deltas.back().error.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(queued->deltas.back().error.message().find("max_queue_time"), std::string::npos);
  engine->Cancel("busy");
  busy->Wait();
}

}  // namespace
}  // namespace attnserve

namespace attnserve {
namespace {

// Records the engine's KV blocks in use at every delta (called on the engine thread).
TEST(BatchingTest, SlidingWindowKeepsKvMemoryBoundedByTheWindow) {
  // The golden Mistral model has sliding_window 8 in every layer.
  EngineOptions options;
  options.model_dir = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/mistral_window";
  options.block_size = 4;
  auto engine = Engine::Load(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  (*engine)->Start();
  std::vector<int64_t> max_used;
  for (uint32_t n : {32u, 200u}) {  // 4x and 25x the window
    auto sink = std::make_shared<BlockWatchingSink>(**engine);
    ASSERT_TRUE((*engine)->SubmitGenerate(GreedySpec("w" + std::to_string(n), {0, 5, 6, 7}, n), sink).ok());
    sink->Wait();
    EXPECT_EQ(sink->token_ids.size(), n);
    max_used.push_back(sink->max_blocks_used);
  }
  // Window 8 + the decoded token span at most 3 blocks of 4, however long the sequence.
  EXPECT_GE(max_used[0], 2);
  EXPECT_LE(max_used[0], 3);
  EXPECT_EQ(max_used[1], max_used[0]);
}

}  // namespace
}  // namespace attnserve

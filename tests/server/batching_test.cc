// Continuous batching through the real daemon (docs/architecture.md, "Correctness", batch
// invariance): greedy requests run concurrently give the same tokens as each run alone — with the
// whole batch admitted at once, and with a KV pool too small for it, where the engine must preempt
// and recompute sequences.
#include <chrono>
#include <fstream>
#include <thread>

#include "nlohmann/json.hpp"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

constexpr int kNumRequests = 16;

// Prompts of different lengths, so prefill chunks and decodes mix within steps.
v1::GenerateRequest NumberedRequest(int i, uint32_t max_tokens) {
  std::string prompt = "Request " + std::to_string(i) + " says";
  for (int k = 0; k < i % 5; ++k) prompt += " and then some more words";
  return GreedyRequest(prompt, max_tokens);
}

// Runs every request alone (one after the other), then all at once; expects identical tokens.
void ExpectConcurrentMatchesAlone(v1::Inference::Stub& stub, uint32_t max_tokens) {
  std::vector<std::vector<int32_t>> alone(kNumRequests);
  for (int i = 0; i < kNumRequests; ++i) {
    const GenerateResult result = Generate(stub, NumberedRequest(i, max_tokens));
    ASSERT_TRUE(result.status.ok()) << i << ": " << result.status.error_message();
    alone[i] = result.AllTokenIds();
    ASSERT_EQ(alone[i].size(), max_tokens) << i;
  }
  std::vector<GenerateResult> together(kNumRequests);
  std::vector<std::thread> threads;
  for (int i = 0; i < kNumRequests; ++i) {
    threads.emplace_back(
        [&, i] { together[i] = Generate(stub, NumberedRequest(i, max_tokens)); });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kNumRequests; ++i) {
    ASSERT_TRUE(together[i].status.ok()) << i << ": " << together[i].status.error_message();
    EXPECT_EQ(together[i].AllTokenIds(), alone[i]) << "request " << i << " differs in a batch";
    EXPECT_EQ(together[i].Last().finish_reason(), v1::LENGTH) << i;
  }
}

TEST(BatchingTest, SixteenConcurrentGreedyStreamsMatchEachAlone) {
  std::string error;
  std::unique_ptr<StartedDaemon> daemon = StartedDaemon::Start({"--max_num_seqs=16"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  ExpectConcurrentMatchesAlone(*daemon->stub, 24);
  EXPECT_EQ(daemon->process.Stop(std::chrono::seconds(20)).exit_code, 0);
}

TEST(BatchingTest, PreemptionByRecomputeKeepsGreedyTokens) {
  // A pool of 512 tokens = 32 blocks of 16 (f32 K and V of every layer: 2 KiB per token for the
  // tiny model) for 16 requests of ~5-30 + 100 tokens (7-9 blocks each): about 4 fit at once, so
  // growing sequences must preempt others.
  const nlohmann::json config =
      nlohmann::json::parse(std::ifstream(DefaultModelDir() + "/config.json"));
  const int64_t bytes_per_token = int64_t{2} * config["num_hidden_layers"].get<int64_t>() *
                                  config["num_key_value_heads"].get<int64_t>() *
                                  config["head_dim"].get<int64_t>() * int64_t{sizeof(float)};
  std::string error;
  std::unique_ptr<StartedDaemon> daemon = StartedDaemon::Start(
      {"--max_num_seqs=16", "--max_model_len=512",
       "--kv_cache_bytes=" + std::to_string(512 * bytes_per_token)},
      &error);
  ASSERT_NE(daemon, nullptr) << error;
  v1::ServerStatus status;
  ASSERT_TRUE(GetServerStatus(*daemon->stub, &status).ok());
  EXPECT_LE(status.kv_blocks_total(), 32u) << status.ShortDebugString();

  ExpectConcurrentMatchesAlone(*daemon->stub, 100);

  ASSERT_TRUE(GetServerStatus(*daemon->stub, &status).ok());
  EXPECT_GT(status.num_preemptions_total(), 0u)
      << "16 sequences of 7 blocks in a 32-block pool ran without preemption: "
      << status.ShortDebugString();
  EXPECT_EQ(MetricValue(daemon->MetricsText(), "attnserve_num_preemptions_total").value_or(-1),
            static_cast<double>(status.num_preemptions_total()));
  EXPECT_EQ(daemon->process.Stop(std::chrono::seconds(20)).exit_code, 0);
}

}  // namespace
}  // namespace attnserve::testing

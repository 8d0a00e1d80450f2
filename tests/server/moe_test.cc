// A Mixture-of-Experts model through the real daemon with its experts over 3 shards: GetModelInfo
// shows the placement and the dense/MoE layers; after some generation GetServerStatus and /metrics
// count the tokens routed per (layer, expert) and computed per shard, and the imbalance gauge.
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

TEST(MoeDaemonTest, ShardsRoutingCountersAndImbalanceAreReported) {
  std::string error;
  auto daemon = StartedDaemon::Start(
      {std::string("--model=") + ATTNSERVE_GOLDEN_MODELS_DIR + "/qwen2_moe", "--expert_shards=3"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  const v1::ModelInfo& info = daemon->info;
  EXPECT_EQ(info.architecture(), "Qwen2MoeForCausalLM");
  EXPECT_EQ(info.num_experts(), 6u);
  EXPECT_EQ(info.num_experts_per_token(), 2u);
  ASSERT_EQ(info.expert_shards_size(), 3);
  EXPECT_EQ(info.expert_shards(2).experts_size(), 2);
  EXPECT_EQ(info.layers(0).mlp(), "moe");
  EXPECT_EQ(info.layers(1).mlp(), "dense");
  EXPECT_LT(info.num_active_parameters(), info.num_parameters());

  v1::GenerateRequest request = GreedyRequest("", 16);
  request.clear_prompt();
  for (int32_t id : {3, 17, 101, 250, 42, 7, 99}) request.add_prompt_token_ids(id);
  const GenerateResult result = Generate(*daemon->stub, request);
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();

  v1::ServerStatus status;
  ASSERT_TRUE(WaitForServerStatus(*daemon->stub, [](const v1::ServerStatus& s) {
    return s.expert_shard_tokens_total_size() == 3 && s.num_requests_running() == 0;
  }, std::chrono::milliseconds(5000), &status));
  uint64_t shard_sum = 0, expert_sum = 0;
  for (uint64_t n : status.expert_shard_tokens_total()) shard_sum += n;
  ASSERT_EQ(status.expert_tokens_total_size(), 2);  // MoE layers 0 and 2
  EXPECT_EQ(status.expert_tokens_total(1).layer(), 2u);
  for (const auto& layer : status.expert_tokens_total())
    for (uint64_t n : layer.tokens()) expert_sum += n;
  // 7 prompt + 15 decoded positions, 2 experts each, 2 MoE layers.
  EXPECT_EQ(expert_sum, (7u + 15u) * 2 * 2);
  EXPECT_EQ(shard_sum, expert_sum);
  EXPECT_GE(status.expert_shard_imbalance(), 1.0);
  EXPECT_LE(status.expert_shard_imbalance(), 3.0);

  const std::string metrics = daemon->MetricsText();
  EXPECT_EQ(MetricValue(metrics, "attnserve_moe_expert_tokens_total").value_or(-1), double(expert_sum));
  EXPECT_EQ(MetricValue(metrics, "attnserve_moe_shard_tokens_total").value_or(-1), double(shard_sum));
  EXPECT_TRUE(MetricValue(metrics, "attnserve_moe_shard_tokens_total", R"(shard="2")").has_value());
  EXPECT_TRUE(MetricValue(metrics, "attnserve_moe_expert_tokens_total", R"(layer="2")").has_value());
  EXPECT_NEAR(MetricValue(metrics, "attnserve_moe_shard_imbalance").value_or(-1), status.expert_shard_imbalance(), 1e-9);
}

}  // namespace
}  // namespace attnserve::testing

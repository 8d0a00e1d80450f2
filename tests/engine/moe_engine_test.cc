// Mixture-of-Experts through the Engine: the golden Mixtral and Qwen2-MoE models give exactly the
// same logits and greedy tokens with their experts split over N = 1, 2, 3 (uneven) shards, with
// contiguous or file placements; bad placements and shard counts are start-up errors naming the
// problem; routing and shard loads are counted in GetServerStatus.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/match.h"
#include "engine_test_util.h"

namespace attnserve {
namespace {

using testing::CollectingSink;
using testing::GreedySpec;

// Token ids inside the golden models' 512-token vocabulary.
std::vector<int32_t> RandomPrompt(int n, uint32_t seed) {
  std::vector<int32_t> ids = testing::RandomPrompt(n, seed);
  for (int32_t& t : ids) t = 2 + t % 500;
  return ids;
}

std::string GoldenDir(const std::string& name) { return std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/" + name; }

std::string WriteTemp(const std::string& name, const std::string& text) {
  const std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path) << text;
  return path;
}

absl::StatusOr<std::unique_ptr<Engine>> Load(const std::string& model, int shards, const std::string& placement = "") {
  EngineOptions o;
  o.model_dir = GoldenDir(model);
  o.expert_shards = shards;
  o.expert_placement = placement;
  o.num_threads = 2;
  return Engine::Load(o);
}

std::vector<float> ScoreLogits(Engine& engine, const std::vector<int32_t>& ids) {
  ScoreSpec spec;
  spec.request_id = "score";
  spec.token_ids = ids;
  spec.return_logits = true;
  std::promise<absl::StatusOr<ScoreResult>> done;
  const absl::Status submitted =
      engine.SubmitScore(spec, [&](absl::StatusOr<ScoreResult> r) { done.set_value(std::move(r)); });
  EXPECT_TRUE(submitted.ok()) << submitted;
  if (!submitted.ok()) return {};
  absl::StatusOr<ScoreResult> r = done.get_future().get();
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? r->logits : std::vector<float>{};
}

std::vector<int32_t> Greedy(Engine& engine, const std::vector<int32_t>& prompt, uint32_t n) {
  auto sink = std::make_shared<CollectingSink>();
  const absl::Status submitted = engine.SubmitGenerate(GreedySpec("g", prompt, n), sink);
  EXPECT_TRUE(submitted.ok()) << submitted;
  if (!submitted.ok()) return {};
  sink->Wait();
  return sink->token_ids;
}

class MoeShardsTest : public ::testing::TestWithParam<std::string> {};

TEST_P(MoeShardsTest, ShardedResultsAreIdenticalToOneShard) {
  const std::string model = GetParam();
  const std::vector<int32_t> prompt = RandomPrompt(40, 3);
  std::vector<float> logits1;
  std::vector<int32_t> tokens1;
  for (int shards : {1, 2, 3}) {
    auto engine = Load(model, shards);
    ASSERT_TRUE(engine.ok()) << engine.status();
    EXPECT_EQ((*engine)->info().expert_placement.size(), static_cast<size_t>(shards));
    (*engine)->Start();
    std::vector<float> logits = ScoreLogits(**engine, prompt);
    std::vector<int32_t> tokens = Greedy(**engine, prompt, 24);
    if (shards == 1) {
      logits1 = logits;
      tokens1 = tokens;
      continue;
    }
    EXPECT_EQ(logits, logits1) << model << " with " << shards << " shards";  // bitwise
    EXPECT_EQ(tokens, tokens1) << model << " with " << shards << " shards";
    // Every shard did work, and the status counts what the routing sent.
    const Engine::Status_ st = testing::SettledStatus(**engine);
    ASSERT_EQ(st.shard_tokens_total.size(), static_cast<size_t>(shards));
    int64_t shard_sum = 0, expert_sum = 0;
    for (int64_t n : st.shard_tokens_total) {
      EXPECT_GT(n, 0);
      shard_sum += n;
    }
    for (const auto& layer : st.expert_tokens_total)
      for (int64_t n : layer) expert_sum += n;
    EXPECT_EQ(shard_sum, expert_sum);
    EXPECT_GE(st.shard_imbalance, 1.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, MoeShardsTest, ::testing::Values("mixtral_moe", "qwen2_moe"));

TEST(MoeEngineTest, PlacementFileIsUsedAndShownInModelInfo) {
  const std::string path = WriteTemp("attnserve_placement_ok.json", R"({"shards": [[5, 0, 3], [1, 2, 4]]})");
  auto engine = Load("qwen2_moe", 2, path);
  ASSERT_TRUE(engine.ok()) << engine.status();
  const ModelInfo& info = (*engine)->info();
  EXPECT_EQ(info.num_experts, 6u);
  EXPECT_EQ(info.num_experts_per_token, 2u);
  ASSERT_EQ(info.expert_placement.size(), 2u);
  EXPECT_EQ(info.expert_placement[0], (std::vector<int32_t>{0, 3, 5}));
  EXPECT_EQ(info.expert_placement[1], (std::vector<int32_t>{1, 2, 4}));
  EXPECT_EQ(info.layers[0].mlp, "moe");
  EXPECT_EQ(info.layers[1].mlp, "dense");  // mlp_only_layers = [1]
  EXPECT_LT(info.num_active_parameters, info.num_parameters);
  (*engine)->Start();
  auto reference = Load("qwen2_moe", 1);
  ASSERT_TRUE(reference.ok());
  (*reference)->Start();
  const std::vector<int32_t> prompt = RandomPrompt(24, 8);
  EXPECT_EQ(ScoreLogits(**engine, prompt), ScoreLogits(**reference, prompt));
}

TEST(MoeEngineTest, BadShardingIsAStartupErrorNamingTheProblem) {
  const std::vector<std::tuple<std::string, int, std::string, std::string>> cases = {
      {"mixtral_moe", 5, "", "--expert_shards=5 exceeds the 4 experts"},
      {"mixtral_moe", 0, "", "--expert_shards=0 must be >= 1"},
      {"mixtral_moe", 2, WriteTemp("attnserve_placement_missing.json", R"({"shards": [[0, 1], [2]]})"),
       "expert 3 is not placed"},
      {"mixtral_moe", 2, WriteTemp("attnserve_placement_twice.json", R"({"shards": [[0, 1, 2], [2, 3]]})"),
       "expert 2 is placed twice"},
      {"mixtral_moe", 2, WriteTemp("attnserve_placement_range.json", R"({"shards": [[0, 1, 9], [2, 3]]})"),
       "expert 9"},
      {"mixtral_moe", 3, WriteTemp("attnserve_placement_count.json", R"({"shards": [[0, 1], [2, 3]]})"),
       "lists 2 shards but --expert_shards=3"},
      {"mixtral_moe", 2, WriteTemp("attnserve_placement_bad.json", "not json"), "attnserve_placement_bad.json"},
      {"mixtral_moe", 2, "/nonexistent/placement.json", "/nonexistent/placement.json"},
  };
  for (const auto& [model, shards, placement, message] : cases) {
    auto engine = Load(model, shards, placement);
    ASSERT_FALSE(engine.ok()) << message;
    EXPECT_TRUE(absl::StrContains(engine.status().message(), message)) << engine.status();
  }
  EngineOptions dense;
  dense.model_dir = ATTNSERVE_TEST_MODEL_DIR;
  dense.expert_shards = 2;
  auto engine = Engine::Load(dense);
  ASSERT_FALSE(engine.ok());
  EXPECT_TRUE(absl::StrContains(engine.status().message(), "has no experts")) << engine.status();
}

TEST(MoeEngineTest, MissingOrMisshapedExpertTensorsAreStartupErrors) {
  // A config promising more experts than the checkpoint holds, or a larger expert intermediate size.
  const std::filesystem::path src = GoldenDir("mixtral_moe");
  for (const auto& [key, value, expect] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"\"num_local_experts\": 4", "\"num_local_experts\": 5", "block_sparse_moe.gate.weight' in"},
           {"\"intermediate_size\": 96", "\"intermediate_size\": 100", "experts.0.w1.weight"},
           {"\"num_experts_per_tok\": 2", "\"num_experts_per_tok\": 7", "num_experts_per_tok 7 exceeds"}}) {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "attnserve_bad_moe";
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    for (const auto& f : std::filesystem::directory_iterator(src)) std::filesystem::copy(f.path(), dir / f.path().filename());
    std::ifstream in(dir / "config.json");
    std::string config((std::istreambuf_iterator<char>(in)), {});
    const size_t at = config.find(key);
    ASSERT_NE(at, std::string::npos) << key;
    config.replace(at, key.size(), value);
    std::ofstream(dir / "config.json") << config;
    EngineOptions o;
    o.model_dir = dir.string();
    auto engine = Engine::Load(o);
    ASSERT_FALSE(engine.ok()) << value;
    EXPECT_TRUE(absl::StrContains(engine.status().message(), expect)) << engine.status();
  }
}

}  // namespace
}  // namespace attnserve

// Golden tests against Hugging Face transformers (tools/make_golden_models.py): every model
// under tests/golden/models gives the same float32 logits within the stated tolerance
// (golden_forward.h), the
// same 32 greedy tokens, and the same tokens again when all requests run batched together
// with small prefill chunks (batch invariance).
#include <gtest/gtest.h>

#include <cmath>

#include "engine/attention/attention_registry.h"
#include "engine/model/decoder_model.h"
#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine/output/sampler.h"
#include "engine_test_util.h"
#include "golden_forward.h"
#include "kernels/backend_registry.h"

namespace attnserve {
namespace {

using testing::CollectingSink;
using testing::ExpectGoldenLogits;
using testing::GoldenForward;
using testing::GoldenModelDirs;
using testing::GreedySpec;
using testing::ReadJson;

class GoldenModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenModelTest, LogitsMatchTransformers) {
  const std::string dir = GetParam();
  auto config = ModelConfig::FromModelDir(dir);
  ASSERT_TRUE(config.ok()) << config.status();
  auto weights = WeightStore::Open(dir);
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto model = DecoderModel::Load(*config, **weights);
  ASSERT_TRUE(model.ok()) << model.status();
  std::unique_ptr<Backend> backend = MakeBackend("cpu", {0}).value();
  nlohmann::json golden = ReadJson(dir + "/golden.json");
  for (const auto& c : golden["logits_cases"]) {
    const std::vector<float> logits =
        GoldenForward(**model, *config, c["input_ids"].get<std::vector<int32_t>>(), *backend);
    const float max_err =
        ExpectGoldenLogits(logits, c["logits"].get<std::vector<float>>(), config->vocab_size, dir);
    RecordProperty("max_abs_error", std::to_string(max_err));
  }
}

TEST_P(GoldenModelTest, GreedyTokensMatchTransformersAloneAndBatched) {
  const std::string dir = GetParam();
  nlohmann::json golden = ReadJson(dir + "/golden.json");
  // Alone: one request at a time.
  EngineOptions options;
  options.model_dir = dir;
  auto engine = Engine::Load(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  (*engine)->Start();
  int n = 0;
  for (const auto& c : golden["greedy_cases"]) {
    auto expected = c["generated_ids"].get<std::vector<int32_t>>();
    auto sink = std::make_shared<CollectingSink>();
    ASSERT_TRUE((*engine)->SubmitGenerate(
        GreedySpec("alone" + std::to_string(n++), c["prompt_ids"].get<std::vector<int32_t>>(),
                   expected.size()), sink).ok());
    sink->Wait();
    EXPECT_EQ(sink->token_ids, expected) << dir;
    EXPECT_EQ(sink->deltas.back().finish, FinishReason::kLength);
  }
  (*engine)->Stop();

  // Batched: every case 4 times at once, prefill chunks of 5 tokens mixed with decodes.
  options.max_num_batched_tokens = 5;
  options.max_num_seqs = 16;
  auto batched = Engine::Load(options);
  ASSERT_TRUE(batched.ok()) << batched.status();
  std::vector<std::pair<std::shared_ptr<CollectingSink>, std::vector<int32_t>>> runs;
  for (int rep = 0; rep < 4; ++rep) {
    for (const auto& c : golden["greedy_cases"]) {
      auto expected = c["generated_ids"].get<std::vector<int32_t>>();
      auto sink = std::make_shared<CollectingSink>();
      ASSERT_TRUE((*batched)->SubmitGenerate(
          GreedySpec("b" + std::to_string(runs.size()), c["prompt_ids"].get<std::vector<int32_t>>(),
                     expected.size()), sink).ok());
      runs.emplace_back(sink, expected);
    }
  }
  (*batched)->Start();
  for (auto& [sink, expected] : runs) {
    sink->Wait();
    EXPECT_EQ(sink->token_ids, expected) << dir << " (batched)";
  }
}

TEST_P(GoldenModelTest, ScoreMatchesTransformersLogSoftmax) {
  const std::string dir = GetParam();
  nlohmann::json golden = ReadJson(dir + "/golden.json");
  EngineOptions options;
  options.model_dir = dir;
  options.max_num_batched_tokens = 7;  // Score in several chunks
  auto engine = Engine::Load(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  (*engine)->Start();
  const auto& c = golden["logits_cases"][0];
  ScoreSpec spec;
  spec.request_id = "score";
  spec.token_ids = c["input_ids"].get<std::vector<int32_t>>();
  spec.return_logits = true;
  std::promise<absl::StatusOr<ScoreResult>> promise;
  ASSERT_TRUE((*engine)->SubmitScore(spec, [&](absl::StatusOr<ScoreResult> r) { promise.set_value(std::move(r)); }).ok());
  absl::StatusOr<ScoreResult> result = promise.get_future().get();
  ASSERT_TRUE(result.ok()) << result.status();
  const std::vector<float> expected = c["logits"].get<std::vector<float>>();
  const int64_t V = result->vocab_size;
  ASSERT_EQ(result->logits.size(), expected.size());
  ASSERT_EQ(result->token_logprobs.size(), spec.token_ids.size() - 1);
  std::vector<float> lp(V);
  for (size_t i = 1; i < spec.token_ids.size(); ++i) {
    LogSoftmaxRow({expected.data() + (i - 1) * V, static_cast<size_t>(V)}, lp);
    EXPECT_NEAR(result->token_logprobs[i - 1], lp[spec.token_ids[i]], 1e-3) << dir << " token " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenModelTest, ::testing::ValuesIn(GoldenModelDirs()),
                         [](const auto& info) {
                           return std::filesystem::path(info.param).filename().string();
                         });

}  // namespace
}  // namespace attnserve

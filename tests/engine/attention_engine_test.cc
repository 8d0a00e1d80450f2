// Attention backends through the Engine on the embedded model: every backend is served per
// request; degenerate parameters reproduce full attention and equivalent rules agree (so each
// choice really reaches the kernels); mixed backends batch together exactly as they run alone;
// windowed kinds keep KV memory bounded and linear ones use none; the prefix cache is keyed by
// the attention; bad choices are INVALID_ARGUMENT naming the parameter.
#include <gtest/gtest.h>

#include <cmath>
#include <future>
#include <random>

#include "absl/strings/match.h"
#include "engine/attention/attention_registry.h"
#include "engine_test_util.h"

namespace attnserve {
namespace {

using testing::BlockWatchingSink;
using testing::CollectingSink;
using testing::GreedySpec;
using testing::MakeEngine;
using testing::RandomPrompt;


AttentionChoice Choice(const std::string& flag) { return ParseAttentionChoice(flag).value(); }

std::vector<float> ScoreLogprobs(Engine& engine, const std::vector<int32_t>& ids, const std::string& attention) {
  static int counter = 0;
  ScoreSpec spec;
  spec.request_id = "score" + std::to_string(counter++);
  spec.token_ids = ids;
  spec.attention = Choice(attention);
  std::promise<absl::StatusOr<ScoreResult>> done;
  absl::Status submitted = engine.SubmitScore(spec, [&](absl::StatusOr<ScoreResult> r) { done.set_value(std::move(r)); });
  EXPECT_TRUE(submitted.ok()) << attention << ": " << submitted;
  if (!submitted.ok()) return {};
  absl::StatusOr<ScoreResult> result = done.get_future().get();
  EXPECT_TRUE(result.ok()) << attention << ": " << result.status();
  return result.ok() ? result->token_logprobs : std::vector<float>{};
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float d = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

TEST(AttentionEngineTest, DegenerateParametersReproduceFullAttention) {
  auto engine = MakeEngine({});
  engine->Start();
  const std::vector<int32_t> ids = RandomPrompt(48, 11);
  const std::vector<float> full = ScoreLogprobs(*engine, ids, "full");
  ASSERT_EQ(full.size(), 47u);
  EXPECT_LT(MaxAbsDiff(full, ScoreLogprobs(*engine, ids, "")), 1e-6);  // the model's own
  // Each rule with parameters wide enough to show every earlier key is full attention.
  for (const char* wide : {"sliding_window:window=48", "sinks:sink_tokens=0,window=48",
                           "transformer_xl:segment_length=8,memory_segments=6",
                           "longformer:window=48,global_tokens=0",
                           "bigbird:block_size=8,window_blocks=6,global_blocks=0,random_blocks=0",
                           "bigbird:block_size=8,window_blocks=1,global_blocks=0,random_blocks=6",
                           "quest:top_k_blocks=3,window=1"}) {
    EXPECT_LT(MaxAbsDiff(full, ScoreLogprobs(*engine, ids, wide)), 2e-4) << wide;
  }
  // Restrictive parameters change the result.
  for (const char* narrow : {"sliding_window:window=4", "sinks:sink_tokens=2,window=4",
                             "transformer_xl:segment_length=8,memory_segments=0",
                             "longformer:window=4,global_tokens=1",
                             "bigbird:block_size=4,window_blocks=1,global_blocks=1,random_blocks=1",
                             "quest:top_k_blocks=1,window=4", "performer:num_features=64",
                             "elu_linear", "sliding_window:window=4,full_every=2"}) {
    EXPECT_GT(MaxAbsDiff(full, ScoreLogprobs(*engine, ids, narrow)), 1e-3) << narrow;
  }
  // Different rules that select the same keys agree: query p sees key 0 and keys p-3..p.
  const std::vector<float> sinks = ScoreLogprobs(*engine, ids, "sinks:sink_tokens=1,window=4");
  EXPECT_LT(MaxAbsDiff(sinks, ScoreLogprobs(*engine, ids, "longformer:window=4,global_tokens=1")), 2e-4);
  EXPECT_LT(MaxAbsDiff(sinks, ScoreLogprobs(*engine, ids,
                                            "bigbird:block_size=1,window_blocks=4,global_blocks=1,random_blocks=0")),
            2e-4);
}

TEST(AttentionEngineTest, MixedBackendsInOneBatchMatchEachAlone) {
  const std::vector<std::string> choices = {
      "full", "sliding_window:window=8", "sinks:sink_tokens=2,window=8",
      "transformer_xl:segment_length=8,memory_segments=1", "longformer:window=8,global_tokens=2",
      "bigbird:block_size=4,window_blocks=2,global_blocks=1,random_blocks=1,seed=3",
      "quest:top_k_blocks=1,window=8", "performer:num_features=32", "elu_linear",
      "sliding_window:window=4,full_every=2"};
  std::vector<std::vector<int32_t>> alone;
  {
    auto engine = MakeEngine({.max_num_seqs = 1});
    engine->Start();
    for (size_t i = 0; i < choices.size(); ++i) {
      auto sink = std::make_shared<CollectingSink>();
      GenerateSpec spec = GreedySpec("a" + std::to_string(i), RandomPrompt(40, 100 + i), 16);
      spec.attention = Choice(choices[i]);
      ASSERT_TRUE(engine->SubmitGenerate(spec, sink).ok()) << choices[i];
      sink->Wait();
      alone.push_back(sink->token_ids);
    }
  }
  auto engine = MakeEngine({.max_num_batched_tokens = 24});  // chunked prefill, mixed with decodes
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (size_t i = 0; i < choices.size(); ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    GenerateSpec spec = GreedySpec("b" + std::to_string(i), RandomPrompt(40, 100 + i), 16);
    spec.attention = Choice(choices[i]);
    ASSERT_TRUE(engine->SubmitGenerate(spec, sinks.back()).ok());
  }
  engine->Start();
  for (size_t i = 0; i < choices.size(); ++i) {
    sinks[i]->Wait();
    EXPECT_EQ(sinks[i]->token_ids, alone[i]) << choices[i];
    EXPECT_EQ(sinks[i]->token_ids.size(), 16u);
  }
}

TEST(AttentionEngineTest, WindowedKindsKeepKvBoundedAndLinearUsesNone) {
  auto engine = MakeEngine({.block_size = 4});
  engine->Start();
  auto max_blocks = [&](const std::string& attention, uint32_t n) {
    auto sink = std::make_shared<BlockWatchingSink>(*engine);
    GenerateSpec spec = GreedySpec(attention + std::to_string(n), RandomPrompt(6, 5), n);
    spec.attention = Choice(attention);
    EXPECT_TRUE(engine->SubmitGenerate(spec, sink).ok());
    sink->Wait();
    EXPECT_EQ(sink->token_ids.size(), n);
    return sink->max_blocks_used;
  };
  // 8x and 16x the reach of each rule: the blocks in use stay the same.
  for (const std::string& a : {std::string("sliding_window:window=8"), std::string("sinks:sink_tokens=4,window=8"),
                               std::string("transformer_xl:segment_length=8,memory_segments=1")}) {
    const int64_t at_64 = max_blocks(a, 64), at_128 = max_blocks(a, 128);
    EXPECT_GE(at_64, 2) << a;
    EXPECT_LE(at_64, 6) << a;
    EXPECT_EQ(at_64, at_128) << a;
  }
  EXPECT_EQ(max_blocks("performer:num_features=16", 64), 0);
  EXPECT_GT(max_blocks("full", 64), 16);  // 70 tokens in blocks of 4
}

TEST(AttentionEngineTest, PrefixCacheIsKeyedByTheAttention) {
  auto engine = MakeEngine({});
  engine->Start();
  const std::vector<int32_t> prompt = RandomPrompt(65, 9);
  auto run = [&](const std::string& attention) {
    static int counter = 0;
    auto sink = std::make_shared<CollectingSink>();
    GenerateSpec spec = GreedySpec("p" + std::to_string(counter++), prompt, 1);
    spec.attention = Choice(attention);
    EXPECT_TRUE(engine->SubmitGenerate(spec, sink).ok());
    sink->Wait();
    return testing::SettledStatus(*engine).prefix_cache_hits_total;
  };
  const int64_t h0 = run("longformer:window=16");
  EXPECT_EQ(run("bigbird"), h0);               // same tokens, other attention: nothing reused
  EXPECT_EQ(run("longformer:window=32"), h0);  // other parameters: nothing reused
  EXPECT_EQ(run("longformer:window=16"), h0 + 64);  // 4 full blocks of 16 reused
}

TEST(AttentionEngineTest, BadChoicesAreInvalidArgumentsNamingTheParameter) {
  auto engine = MakeEngine({});
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nope", "attention.backend"}, {"sliding_window:window=0", "attention.window"},
      {"performer:num_features=0", "attention.num_features"},
      {"longformer:global_tokens=9", "attention.global_tokens"},
      {"quest:num_features=3", "attention.num_features does not apply"}};
  for (const auto& [flag, name] : cases) {
    GenerateSpec spec = GreedySpec("x", RandomPrompt(8, 1), 4);
    spec.attention = Choice(flag);
    absl::Status s = engine->Validate(spec);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << flag;
    EXPECT_TRUE(absl::StrContains(s.message(), name)) << flag << ": " << s;
    EXPECT_EQ(engine->SubmitGenerate(spec, std::make_shared<CollectingSink>()).code(),
              absl::StatusCode::kInvalidArgument);
    ScoreSpec score;
    score.request_id = "s";
    score.token_ids = RandomPrompt(8, 1);
    score.attention = spec.attention;
    EXPECT_EQ(engine->Validate(score).code(), absl::StatusCode::kInvalidArgument) << flag;
  }
}

TEST(AttentionEngineTest, DeploymentDefaultComesFromTheFlagAndShowsInModelInfo) {
  EngineOptions bad;
  bad.model_dir = ATTNSERVE_TEST_MODEL_DIR;
  bad.attention = Choice("bigbird:window_blocks=0");
  auto failed = Engine::Load(bad);
  ASSERT_FALSE(failed.ok());
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "--attention")) << failed.status();
  EXPECT_TRUE(absl::StrContains(failed.status().message(), "attention.window_blocks")) << failed.status();

  EngineOptions options;
  options.attention = Choice("sliding_window:window=4,full_every=2");
  auto engine = MakeEngine(options);
  const ModelInfo& info = engine->info();
  EXPECT_EQ(info.default_attention, "sliding_window:window=4,full_every=2");
  ASSERT_EQ(info.layers.size(), 4u);
  EXPECT_EQ(info.layers[0].attention_backend, "sliding_window");
  EXPECT_EQ(info.layers[0].memory_kind, "windowed_kv");
  EXPECT_EQ(info.layers[0].sliding_window, 4u);
  EXPECT_EQ(info.layers[1].attention_backend, "full");
  EXPECT_EQ(info.layers[1].memory_kind, "paged_kv");
  EXPECT_EQ(info.attention_backend_info.size(), AttentionBackends().size());
  EXPECT_EQ(info.attention_backend_info.back().memory_kind, "recurrent_state");

  // Requests without a choice get the default; an explicit one overrides it.
  engine->Start();
  const std::vector<int32_t> ids = RandomPrompt(32, 4);
  auto plain = MakeEngine({});
  plain->Start();
  EXPECT_LT(MaxAbsDiff(ScoreLogprobs(*engine, ids, ""),
                       ScoreLogprobs(*plain, ids, "sliding_window:window=4,full_every=2")), 1e-6);
  EXPECT_LT(MaxAbsDiff(ScoreLogprobs(*engine, ids, "full"), ScoreLogprobs(*plain, ids, "")), 1e-6);
}

TEST(AttentionEngineTest, PerLayerScheduleFromTheConfigShowsInModelInfo) {
  // Qwen2 with max_window_layers = 1: layer 0 full, layers 1..2 slide over 6 tokens (golden
  // logits against transformers in golden_model_test.cc).
  auto engine = MakeEngine({.model_dir = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/qwen2_layer_window"});
  const ModelInfo& info = engine->info();
  ASSERT_EQ(info.layers.size(), 3u);
  EXPECT_EQ(info.layers[0].attention_backend, "full");
  EXPECT_EQ(info.layers[0].memory_kind, "paged_kv");
  EXPECT_EQ(info.layers[1].attention_backend, "sliding_window");
  EXPECT_EQ(info.layers[1].memory_kind, "windowed_kv");
  EXPECT_EQ(info.layers[2].sliding_window, 6u);
}

}  // namespace
}  // namespace attnserve

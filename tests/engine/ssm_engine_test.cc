// State-space models through the Engine (issue 6): Mamba / Mamba-2 sequences hold no KV blocks
// and exactly one RecurrentState slot while running, whatever their length; Jamba holds KV for
// its attention layers only; prefill chunks and decodes of many sequences are batched together;
// preemption (recompute) and cancellation give back the slot and never change another
// sequence's tokens; the prefix cache is off for these layers; an attention choice for a model
// without attention is INVALID_ARGUMENT.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "engine_test_util.h"

namespace attnserve {
namespace {

using testing::BlockWatchingSink;
using testing::CollectingSink;
using testing::GreedySpec;
using testing::MakeEngine;
using testing::SettledStatus;

std::string GoldenDir(const std::string& name) { return std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/" + name; }

// Token ids inside the golden models' 512-token vocabulary.
std::vector<int32_t> Prompt(int n, uint32_t seed) {
  std::vector<int32_t> ids = testing::RandomPrompt(n, seed);
  for (int32_t& t : ids) t = 2 + t % 500;
  return ids;
}

EngineOptions Options(const std::string& model) {
  EngineOptions o;
  o.model_dir = GoldenDir(model);
  o.num_threads = 2;
  return o;
}

std::vector<int32_t> GreedyAlone(Engine& engine, const std::vector<int32_t>& prompt, uint32_t n) {
  static int counter = 0;
  auto sink = std::make_shared<CollectingSink>();
  EXPECT_TRUE(engine.SubmitGenerate(GreedySpec("alone" + std::to_string(counter++), prompt, n), sink).ok());
  sink->Wait();
  return sink->token_ids;
}

class SsmEngineTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SsmEngineTest, MemoryPerSequenceIsOneSlotAndOnlyTheAttentionLayersKv) {
  EngineOptions o = Options(GetParam());
  o.block_size = 4;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  const ModelInfo& info = engine->info();
  EXPECT_GT(info.recurrent_state_bytes_per_sequence, 0);
  engine->Start();
  auto sink = std::make_shared<BlockWatchingSink>(*engine);
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("long", Prompt(60, 1), 100), sink).ok());
  sink->Wait();
  ASSERT_EQ(sink->token_ids.size(), 100u);
  const bool has_attention = info.kv_cache_bytes_per_token > 0;
  if (!has_attention) {
    EXPECT_EQ(sink->max_blocks_used, 0);  // Mamba: no KV however long the sequence gets
  } else {
    EXPECT_GE(sink->max_blocks_used, 159 / 4);  // Jamba: the attention layers keep every key
  }
  const Engine::Status_ s = SettledStatus(*engine);
  EXPECT_EQ(s.state_slots_total, o.max_num_seqs);
  EXPECT_EQ(s.state_slots_used, 0);  // freed on finish
  EXPECT_EQ(s.kv_blocks_used, 0);
}

TEST_P(SsmEngineTest, ManySequencesInChunksGiveTheirAloneTokens) {
  EngineOptions o = Options(GetParam());
  auto alone = MakeEngine(o);
  ASSERT_NE(alone, nullptr);
  alone->Start();
  std::vector<std::vector<int32_t>> prompts, expected;
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(Prompt(7 + 13 * i, 10 + i));
    expected.push_back(GreedyAlone(*alone, prompts.back(), 24));
  }
  alone->Stop();
  // Prefill chunks of 6 tokens share steps with the other sequences' decodes.
  o.max_num_batched_tokens = 6;
  o.max_num_seqs = 4;  // 4 slots for 6 sequences: two wait for a slot
  auto batched = MakeEngine(o);
  ASSERT_NE(batched, nullptr);
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (size_t i = 0; i < prompts.size(); ++i) {
    sinks.push_back(std::make_shared<CollectingSink>());
    ASSERT_TRUE(batched->SubmitGenerate(GreedySpec("b" + std::to_string(i), prompts[i], 24), sinks.back()).ok());
  }
  batched->Start();
  for (size_t i = 0; i < sinks.size(); ++i) {
    sinks[i]->Wait();
    EXPECT_EQ(sinks[i]->token_ids, expected[i]) << "sequence " << i;
  }
  EXPECT_EQ(SettledStatus(*batched).state_slots_used, 0);
}

TEST_P(SsmEngineTest, PreemptedSequenceIsRecomputedIntoAFreshSlotWithTheSameTokens) {
  EngineOptions o = Options(GetParam());
  o.max_num_seqs = 1;  // one slot: a higher-priority arrival must preempt
  o.max_num_batched_tokens = 8;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  // Long enough that the low-priority sequence is still running when the other arrives.
  const uint32_t low_tokens = static_cast<uint32_t>(std::min<int64_t>(engine->info().max_context - 30, 1500));
  const std::vector<int32_t> low_prompt = Prompt(30, 5), high_prompt = Prompt(20, 6);
  const std::vector<int32_t> low_expected = GreedyAlone(*engine, low_prompt, low_tokens);
  const std::vector<int32_t> high_expected = GreedyAlone(*engine, high_prompt, 10);
  const int64_t preemptions_before = engine->CurrentStatus().num_preemptions_total;

  auto low = std::make_shared<CollectingSink>();
  GenerateSpec low_spec = GreedySpec("low", low_prompt, low_tokens);
  low_spec.priority = 5;
  ASSERT_TRUE(engine->SubmitGenerate(low_spec, low).ok());
  while (low->token_ids_size() < 5) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  auto high = std::make_shared<CollectingSink>();
  GenerateSpec high_spec = GreedySpec("high", high_prompt, 10);
  high_spec.priority = 0;
  ASSERT_TRUE(engine->SubmitGenerate(high_spec, high).ok());
  high->Wait();
  low->Wait();
  EXPECT_EQ(high->token_ids, high_expected);
  EXPECT_EQ(low->token_ids, low_expected);
  const Engine::Status_ s = SettledStatus(*engine);
  EXPECT_GT(s.num_preemptions_total, preemptions_before);
  EXPECT_EQ(s.state_slots_used, 0);
}

TEST_P(SsmEngineTest, CancelFreesTheSlotAndOthersContinue) {
  EngineOptions o = Options(GetParam());
  o.max_num_seqs = 2;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  const std::vector<int32_t> keep_prompt = Prompt(25, 8);
  const std::vector<int32_t> keep_expected = GreedyAlone(*engine, keep_prompt, 30);
  auto doomed = std::make_shared<CollectingSink>();
  auto keep = std::make_shared<CollectingSink>();
  const uint32_t doomed_tokens = static_cast<uint32_t>(engine->info().max_context - 40);
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("doomed", Prompt(40, 9), doomed_tokens), doomed).ok());
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("keep", keep_prompt, 30), keep).ok());
  while (doomed->token_ids_size() < 3) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  engine->Cancel("doomed");
  doomed->Wait();
  EXPECT_EQ(doomed->deltas.back().finish, FinishReason::kCancelled);
  keep->Wait();
  EXPECT_EQ(keep->token_ids, keep_expected);
  EXPECT_EQ(SettledStatus(*engine).state_slots_used, 0);
}

TEST_P(SsmEngineTest, PrefixCacheIsOffForRecurrentLayers) {
  auto engine = MakeEngine(Options(GetParam()));
  ASSERT_NE(engine, nullptr);
  engine->Start();
  const std::vector<int32_t> prompt = Prompt(64, 3);
  const std::vector<int32_t> first = GreedyAlone(*engine, prompt, 8);
  const std::vector<int32_t> second = GreedyAlone(*engine, prompt, 8);
  EXPECT_EQ(first, second);
  // A cached prefix would skip the Mamba layers' state for those tokens: never reused.
  EXPECT_EQ(SettledStatus(*engine).prefix_cache_hits_total, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, SsmEngineTest, ::testing::Values("mamba_tiny", "mamba2_tiny", "jamba_tiny"));

TEST(SsmEngineAttentionTest, AttentionChoiceForAnAttentionFreeModelIsInvalidArgument) {
  auto engine = MakeEngine(Options("mamba_tiny"));
  ASSERT_NE(engine, nullptr);
  GenerateSpec spec = GreedySpec("x", Prompt(5, 1), 4);
  spec.attention.backend = "sliding_window";
  const absl::Status s = engine->SubmitGenerate(spec, std::make_shared<CollectingSink>());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("no attention layers"), std::string::npos) << s;
}

TEST(SsmEngineAttentionTest, JambaAttentionLayersTakeAnyBackendAndMambaLayersStay) {
  auto engine = MakeEngine(Options("jamba_tiny"));
  ASSERT_NE(engine, nullptr);
  const ModelInfo& info = engine->info();
  ASSERT_EQ(info.layers.size(), 4u);
  EXPECT_EQ(info.layers[0].mixer, "mamba");
  EXPECT_EQ(info.layers[0].memory_kind, "recurrent_state");
  EXPECT_EQ(info.layers[1].mlp, "moe");
  EXPECT_EQ(info.layers[2].mixer, "attention");
  EXPECT_EQ(info.layers[2].memory_kind, "paged_kv");
  engine->Start();
  const std::vector<int32_t> prompt = Prompt(40, 4);
  const std::vector<int32_t> full = GreedyAlone(*engine, prompt, 16);
  // A window covering the whole sequence is full attention: same tokens.
  GenerateSpec wide = GreedySpec("wide", prompt, 16);
  wide.attention.backend = "sliding_window";
  wide.attention.window = 4096;
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(wide, sink).ok());
  sink->Wait();
  EXPECT_EQ(sink->token_ids, full);
  // A 2-token window changes the attention layer's output.
  GenerateSpec narrow = GreedySpec("narrow", prompt, 16);
  narrow.attention.backend = "sliding_window";
  narrow.attention.window = 2;
  auto narrow_sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(narrow, narrow_sink).ok());
  narrow_sink->Wait();
  EXPECT_EQ(narrow_sink->token_ids.size(), 16u);
  EXPECT_NE(narrow_sink->token_ids, full);
}

}  // namespace
}  // namespace attnserve

// The attention registry: --attention parsing, choice validation (errors name the parameter),
// per-layer plans (full_every schedules, the model's own sliding layers) and the KV retention
// each plan hands the scheduler.
#include "engine/attention/attention_registry.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"

namespace attnserve {
namespace {

ModelConfig TinyConfig(int64_t layers = 4) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.num_hidden_layers = layers;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.hidden_size = 64;
  c.layers.resize(layers);
  return c;
}

absl::StatusOr<std::shared_ptr<const AttentionPlan>> Resolve(const std::string& flag, int64_t prompt_len = 0,
                                                             const ModelConfig& config = TinyConfig()) {
  absl::StatusOr<AttentionChoice> choice = ParseAttentionChoice(flag);
  if (!choice.ok()) return choice.status();
  return ResolveAttention(*choice, {&config, 16, prompt_len});
}

void ExpectInvalid(const std::string& flag, const std::string& names, int64_t prompt_len = 0) {
  auto plan = Resolve(flag, prompt_len);
  ASSERT_FALSE(plan.ok()) << flag;
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument) << flag;
  EXPECT_TRUE(absl::StrContains(plan.status().message(), names)) << flag << ": " << plan.status();
}

TEST(AttentionChoiceTest, ParsesAndFormatsTheFlagSyntax) {
  auto c = ParseAttentionChoice("bigbird:block_size=32,random_blocks=2,seed=7");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->backend, "bigbird");
  EXPECT_EQ(*c->block_size, 32);
  EXPECT_EQ(*c->random_blocks, 2);
  EXPECT_EQ(*c->seed, 7u);
  EXPECT_FALSE(c->window.has_value());
  EXPECT_EQ(FormatAttentionChoice(*c), "bigbird:block_size=32,random_blocks=2,seed=7");
  auto g = ParseAttentionChoice("longformer:global_positions=3+17");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->global_positions, (std::vector<int64_t>{3, 17}));
  EXPECT_TRUE(ParseAttentionChoice("").value().empty());
  EXPECT_FALSE(ParseAttentionChoice("sliding_window:window").ok());
  EXPECT_FALSE(ParseAttentionChoice("sliding_window:window=abc").ok());
  auto unknown = ParseAttentionChoice("sliding_window:windw=3");
  ASSERT_FALSE(unknown.ok());
  EXPECT_TRUE(absl::StrContains(unknown.status().message(), "windw"));
}

TEST(AttentionRegistryTest, EveryBackendResolvesWithItsDefaults) {
  for (const AttentionBackendInfo& b : AttentionBackends()) {
    auto plan = Resolve(std::string(b.name), 100);
    ASSERT_TRUE(plan.ok()) << b.name << ": " << plan.status();
    ASSERT_EQ((*plan)->layers.size(), 4u);
    for (const LayerAttention& a : (*plan)->layers) {
      EXPECT_EQ(a.backend, b.name);
      EXPECT_EQ(a.memory, b.memory);
    }
  }
}

TEST(AttentionRegistryTest, BadChoicesNameTheParameter) {
  ExpectInvalid("flash", "attention.backend \"flash\" is unknown");
  ExpectInvalid("sliding_window:window=0", "attention.window");
  ExpectInvalid("sliding_window:window=-5", "attention.window");
  ExpectInvalid("performer:num_features=0", "attention.num_features");
  ExpectInvalid("bigbird:random_blocks=1000", "attention.random_blocks");
  ExpectInvalid("transformer_xl:segment_length=0", "attention.segment_length");
  ExpectInvalid("quest:top_k_blocks=0", "attention.top_k_blocks");
  ExpectInvalid("full:window=8", "attention.window does not apply to backend full");
  ExpectInvalid("elu_linear:num_features=8", "attention.num_features does not apply");
  ExpectInvalid("sliding_window:full_every=0", "attention.full_every");
  ExpectInvalid("sliding_window:full_every=5", "attention.full_every");
  ExpectInvalid("longformer:global_tokens=20", "attention.global_tokens (20) exceeds the prompt length (12", 12);
  ExpectInvalid("longformer:global_positions=12", "attention.global_positions", 12);
  AttentionChoice params_only;
  params_only.window = 8;
  const ModelConfig config = TinyConfig();
  auto plan = ResolveAttention(params_only, {&config, 16, 0});
  ASSERT_FALSE(plan.ok());
  EXPECT_TRUE(absl::StrContains(plan.status().message(), "attention.backend is required"));
}

TEST(AttentionRegistryTest, FullEveryKeepsTheModelsAttentionOnEveryKthLayer) {
  auto plan = Resolve("sliding_window:window=64,full_every=2");
  ASSERT_TRUE(plan.ok()) << plan.status();
  const auto& layers = (*plan)->layers;
  EXPECT_EQ(layers[0].backend, "sliding_window");
  EXPECT_EQ(layers[1].backend, "full");
  EXPECT_EQ(layers[2].backend, "sliding_window");
  EXPECT_EQ(layers[3].backend, "full");
  EXPECT_EQ(layers[0].mask.kind, MaskKind::kSlidingWindow);
  EXPECT_EQ(layers[0].mask.window, 64);
  EXPECT_EQ(layers[1].mask.kind, MaskKind::kCausal);
  // A full layer needs every key: no block may be released.
  EXPECT_FALSE((*plan)->retention.bounded);
}

TEST(AttentionRegistryTest, ModelOwnSlidingLayersAreTheDefault) {
  ModelConfig c = TinyConfig();
  c.layers[0].sliding_window = 32;  // e.g. layer_types = [sliding, full, full, full]
  auto plan = ResolveAttention({}, {&c, 16, 0});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ((*plan)->layers[0].backend, "sliding_window");
  EXPECT_EQ((*plan)->layers[0].memory, MemoryKind::kWindowedKv);
  EXPECT_EQ((*plan)->layers[1].backend, "full");
  EXPECT_EQ((*plan)->description, "");
  EXPECT_EQ((*plan)->retention.cache_salt, "");
}

TEST(AttentionRegistryTest, RetentionFollowsTheMemoryKind) {
  auto sinks = Resolve("sinks:sink_tokens=4,window=60");
  ASSERT_TRUE(sinks.ok());
  const KvRetention& r = (*sinks)->retention;
  EXPECT_TRUE(r.bounded);
  EXPECT_EQ(r.sink_tokens, 4);
  EXPECT_EQ(r.window, 60);
  EXPECT_EQ(r.LowestReachable(100), 41);

  auto xl = Resolve("transformer_xl:segment_length=32,memory_segments=2");
  ASSERT_TRUE(xl.ok());
  EXPECT_TRUE((*xl)->retention.bounded);
  EXPECT_EQ((*xl)->retention.LowestReachable(100), 32);  // segment 3 sees segments 1..3

  auto performer = Resolve("performer:num_features=8");
  ASSERT_TRUE(performer.ok());
  EXPECT_FALSE((*performer)->retention.uses_kv);
  EXPECT_FALSE((*performer)->retention.reuse_prefix);
  EXPECT_EQ((*performer)->state_floats, 4 * LinearStateFloats(2, 8, 16));
  EXPECT_EQ((*performer)->layers[0].projection.size(), 8u * 16u);
  // Different layers draw different features.
  EXPECT_NE((*performer)->layers[0].projection, (*performer)->layers[1].projection);

  auto mixed = Resolve("elu_linear:full_every=2");
  ASSERT_TRUE(mixed.ok());
  EXPECT_TRUE((*mixed)->retention.uses_kv);  // the full layers keep KV
  EXPECT_FALSE((*mixed)->retention.reuse_prefix);
  EXPECT_EQ((*mixed)->layers[1].state_offset, 0);
  EXPECT_EQ((*mixed)->layers[2].state_offset, LinearStateFloats(2, 16, 16));

  auto quest = Resolve("quest");
  ASSERT_TRUE(quest.ok());
  EXPECT_FALSE((*quest)->retention.bounded);
}

TEST(AttentionRegistryTest, CacheSaltIsTheCanonicalChoice) {
  auto a = Resolve("bigbird");
  auto b = Resolve("bigbird:block_size=64,seed=0");
  auto c = Resolve("bigbird:seed=1");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->retention.cache_salt, (*b)->retention.cache_salt);  // defaults filled in
  EXPECT_NE((*a)->retention.cache_salt, (*c)->retention.cache_salt);
  EXPECT_NE((*a)->retention.cache_salt, "");
}

TEST(AttentionRegistryTest, LongformerGlobalsAreTheFirstTokensAndThePositions) {
  auto plan = Resolve("longformer:window=16,global_tokens=2,global_positions=9+5+9", 20);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ((*plan)->global_positions, (std::vector<int32_t>{0, 1, 5, 9}));
  const AttentionMask& m = (*plan)->layers[2].mask;
  ASSERT_EQ(m.num_global, 4);
  EXPECT_EQ(m.global_positions, (*plan)->global_positions.data());
  EXPECT_TRUE(Visible(m, 0, 0, 1, 100, 5));   // a global key, far outside the window
  EXPECT_FALSE(Visible(m, 0, 0, 1, 100, 6));
}

}  // namespace
}  // namespace attnserve

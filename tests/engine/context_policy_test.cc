// Per-request context policies (issue 7) against transformers: a tiny Llama trained for 64
// positions, evaluated at 40 and 180 tokens under every HF rope type. Each variant's golden
// (tests/golden/context_models, tools/make_context_golden_models.py) shares the base model's
// weights and differs only in config.json's rope_parameters. Checked: the config's scaling as the
// model default; the same policy given per request to the base model (logits and greedy tokens,
// including decodes that cross the trained length, where dynamic NTK and LongRoPE change their
// frequencies as transformers' cached generation does); bad policies and lengths beyond a
// policy's limit are INVALID_ARGUMENT naming the field; policies separate prefix-cache entries.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "engine/attention/attention_registry.h"
#include "engine/context/context_policy.h"
#include "engine/model/decoder_model.h"
#include "engine/loader/weight_store.h"
#include "engine_test_util.h"
#include "kernels/backend_registry.h"

namespace attnserve {
namespace {

using testing::CollectingSink;
using testing::GreedySpec;
using testing::MakeEngine;
using testing::ReadJson;

// |ours - hf| <= kAbsTol + kRelTol * |hf| for every stored logit (as the model goldens).
constexpr float kAbsTol = 2e-4f;
constexpr float kRelTol = 1e-3f;

const std::string kDir = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/../context_models";
const std::vector<std::string> kVariants = {"llama_linear", "llama_dynamic", "llama_yarn", "llama_yarn_custom",
                                 "llama_llama3", "llama_longrope"};

// The HF rope_parameters of a variant as a per-request policy.
ContextPolicyChoice ChoiceFromRope(const nlohmann::json& rope) {
  ContextPolicyChoice c;
  const std::string type = rope["rope_type"];
  c.kind = type == "dynamic" ? "dynamic_ntk" : type;
  auto real = [&](const char* key, std::optional<double>& out) {
    if (rope.contains(key) && rope[key].is_number()) out = rope[key].get<double>();
  };
  real("factor", c.factor);
  real("beta_fast", c.beta_fast);
  real("beta_slow", c.beta_slow);
  real("attention_factor", c.attention_factor);
  real("low_freq_factor", c.low_freq_factor);
  real("high_freq_factor", c.high_freq_factor);
  if (rope.contains("original_max_position_embeddings"))
    c.original_max_position_embeddings = rope["original_max_position_embeddings"].get<int64_t>();
  if (rope.contains("truncate")) c.truncate = rope["truncate"].get<bool>();
  if (rope.contains("short_factor")) c.short_factor = rope["short_factor"].get<std::vector<double>>();
  if (rope.contains("long_factor")) c.long_factor = rope["long_factor"].get<std::vector<double>>();
  return c;
}

// Full-forward logits of `ids` (one chunk) under `context` (null: the config's default).
std::vector<float> Logits(const ModelConfig& config, const WeightStore& weights, const std::vector<int32_t>& ids,
                          const ContextPlan* context) {
  auto model = DecoderModel::Load(config, weights);
  EXPECT_TRUE(model.ok()) << model.status();
  if (!model.ok()) return {};
  std::unique_ptr<Backend> backend = MakeBackend("cpu", {2}).value();
  const int64_t block_size = 16, num_blocks = (ids.size() + 15) / 16;
  PagedKvPool kv(config.num_attention_layers(), num_blocks, block_size, config.kv_dim());
  std::vector<int32_t> table(num_blocks);
  for (int64_t b = 0; b < num_blocks; ++b) table[b] = static_cast<int32_t>(b);
  auto plan = ResolveAttention({}, {&config, block_size, 0});
  EXPECT_TRUE(plan.ok());
  ForwardChunk chunk{ids.data(), 0, static_cast<int32_t>(ids.size()), table.data(), true, true, plan->get()};
  chunk.context = context;
  std::vector<float> logits;
  (*model)->Forward({&chunk, 1}, kv, *backend, logits);
  return logits;
}

void ExpectRowsMatch(const std::vector<float>& logits, const nlohmann::json& c, int64_t vocab, const std::string& what) {
  const std::vector<int64_t> positions = c["logits_positions"].get<std::vector<int64_t>>();
  const std::vector<float> expected = c["logits"].get<std::vector<float>>();
  ASSERT_EQ(expected.size(), positions.size() * vocab);
  for (size_t r = 0; r < positions.size(); ++r) {
    for (int64_t v = 0; v < vocab; ++v) {
      const float hf = expected[r * vocab + v], ours = logits[positions[r] * vocab + v];
      ASSERT_LE(std::fabs(ours - hf), kAbsTol + kRelTol * std::fabs(hf))
          << what << " position " << positions[r] << " token " << v;
    }
  }
}

class ContextPolicyGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ContextPolicyGoldenTest, ConfigDefaultAndPerRequestPolicyMatchTransformers) {
  const std::string dir = kDir + "/" + GetParam();
  const nlohmann::json golden = ReadJson(dir + "/golden.json");
  auto variant = ModelConfig::FromModelDir(dir);
  ASSERT_TRUE(variant.ok()) << variant.status();
  auto base = ModelConfig::FromModelDir(kDir + "/llama_base");
  ASSERT_TRUE(base.ok()) << base.status();
  auto weights = WeightStore::Open(kDir + "/llama_base");
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto policy = ResolveContextPolicy(ChoiceFromRope(golden["rope"]), {&*base, 4096});
  ASSERT_TRUE(policy.ok()) << policy.status();
  for (const auto& c : golden["logits_cases"]) {
    const std::vector<int32_t> ids = c["input_ids"].get<std::vector<int32_t>>();
    ExpectRowsMatch(Logits(*variant, **weights, ids, nullptr), c, base->vocab_size, GetParam() + " (config default)");
    ExpectRowsMatch(Logits(*base, **weights, ids, policy->get()), c, base->vocab_size, GetParam() + " (per request)");
  }
  // Without the policy, the base model beyond 64 positions is a different model.
  const std::vector<int32_t> long_ids = golden["logits_cases"][1]["input_ids"].get<std::vector<int32_t>>();
  const std::vector<float> plain = Logits(*base, **weights, long_ids, nullptr);
  const std::vector<float> scaled = Logits(*base, **weights, long_ids, policy->get());
  float diff = 0;
  for (size_t i = 0; i < plain.size(); ++i) diff = std::max(diff, std::fabs(plain[i] - scaled[i]));
  EXPECT_GT(diff, 1e-2f);
}

TEST_P(ContextPolicyGoldenTest, GreedyTokensPerRequestMatchTransformersCachedGeneration) {
  const nlohmann::json golden = ReadJson(kDir + "/" + GetParam() + "/golden.json");
  EngineOptions o;
  o.model_dir = kDir + "/llama_base";
  o.max_model_len = 1024;
  o.num_threads = 2;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  int n = 0;
  for (const char* cases : {"greedy_cases", "crossing_greedy_cases"}) {
    for (const auto& c : golden[cases]) {
      const std::vector<int32_t> expected = c["generated_ids"].get<std::vector<int32_t>>();
      GenerateSpec spec = GreedySpec("g" + std::to_string(n++), c["prompt_ids"].get<std::vector<int32_t>>(),
                                     static_cast<uint32_t>(expected.size()));
      spec.context_policy = ChoiceFromRope(golden["rope"]);
      auto sink = std::make_shared<CollectingSink>();
      const absl::Status submitted = engine->SubmitGenerate(spec, sink);
      ASSERT_TRUE(submitted.ok()) << submitted;
      sink->Wait();
      EXPECT_EQ(sink->token_ids, expected) << GetParam() << " " << cases;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, ContextPolicyGoldenTest, ::testing::ValuesIn(kVariants));

TEST(ContextPolicyTest, NtkEqualsTheDefaultRopeWithTheScaledTheta) {
  auto base = ModelConfig::FromModelDir(kDir + "/llama_base");
  ASSERT_TRUE(base.ok());
  ContextPolicyChoice ntk;
  ntk.kind = "ntk";
  ntk.factor = 4.0;
  auto plan = ResolveContextPolicy(ntk, {&*base, 4096});
  ASSERT_TRUE(plan.ok()) << plan.status();
  const double d = base->head_dim;
  const RopeFrequencies expected = ComputeRopeFrequencies(
      RopeScaling{}, base->head_dim, base->rope_theta * std::pow(4.0, d / (d - 2)), 64, 64);
  EXPECT_EQ((*plan)->frequencies.inv_freq, expected.inv_freq);
  EXPECT_EQ((*plan)->max_length, 256);
}

TEST(ContextPolicyTest, BadPoliciesAndLengthsAreInvalidArgumentNamingTheField) {
  EngineOptions o;
  o.model_dir = kDir + "/llama_base";
  o.max_model_len = 512;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  struct Case {
    std::string policy;
    uint32_t max_tokens;
    std::string expected;
  };
  const Case cases[] = {
      {"warp:factor=2", 4, "context_policy.kind"},
      {"linear", 4, "context_policy.factor is required"},
      {"linear:factor=0.5", 4, "context_policy.factor must be in [1, 1024]"},
      {"linear:factor=2,beta_fast=8", 4, "context_policy.beta_fast does not apply to kind linear"},
      {"yarn:factor=4,beta_fast=1,beta_slow=2", 4, "context_policy.beta_fast"},
      {"longrope:factor=4", 4, "context_policy.short_factor is required"},
      {"longrope:factor=4,short_factor=1/2,long_factor=1/2", 4, "short_factor"},
      {"alibi", 4, "ALiBi models"},
      {"sinks:sink_tokens=4,window=100", 4, "context_policy.window"},
      {"", 100, "the model's max_position_embeddings 64"},            // 10 + 100 > 64
      {"linear:factor=2", 200, "linear: factor 2 x original_max_position_embeddings 64"},
      {"none", 600, "exceeds the maximum context length of 512"},  // the --max_model_len cap
  };
  for (const Case& c : cases) {
    GenerateSpec spec = GreedySpec("bad", testing::RandomPrompt(10, 1), c.max_tokens);
    for (int32_t& t : spec.prompt_token_ids) t %= 500;
    if (!c.policy.empty()) {
      auto choice = ParseContextPolicyChoice(c.policy);
      ASSERT_TRUE(choice.ok()) << c.policy;
      spec.context_policy = *choice;
    }
    const absl::Status s = engine->SubmitGenerate(spec, std::make_shared<CollectingSink>());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.policy;
    EXPECT_NE(s.message().find(c.expected), std::string::npos) << c.policy << ": " << s;
  }
  // Sinks bring their own attention.
  GenerateSpec both = GreedySpec("both", {3, 4, 5}, 4);
  both.context_policy.kind = "sinks";
  both.attention.backend = "sliding_window";
  EXPECT_EQ(engine->SubmitGenerate(both, std::make_shared<CollectingSink>()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseContextPolicyChoice("yarn:factor=x").ok());
  EXPECT_FALSE(ParseContextPolicyChoice("yarn:colour=4").ok());
}

TEST(ContextPolicyTest, PoliciesDoNotSharePrefixCacheEntries) {
  EngineOptions o;
  o.model_dir = kDir + "/llama_base";
  o.max_model_len = 512;
  o.block_size = 4;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  std::vector<int32_t> prompt = testing::RandomPrompt(40, 2);
  for (int32_t& t : prompt) t %= 500;
  auto run = [&](const std::string& policy, const std::string& id) {
    GenerateSpec spec = GreedySpec(id, prompt, 4);
    if (!policy.empty()) spec.context_policy = *ParseContextPolicyChoice(policy);
    auto sink = std::make_shared<CollectingSink>();
    EXPECT_TRUE(engine->SubmitGenerate(spec, sink).ok());
    sink->Wait();
    return testing::SettledStatus(*engine).prefix_cache_hits_total;
  };
  EXPECT_EQ(run("linear:factor=4", "a"), 0);
  EXPECT_EQ(run("yarn:factor=4", "b"), 0);   // same tokens, other rotation: no hit
  EXPECT_GT(run("linear:factor=4", "c"), 0);  // same policy: hit
}

}  // namespace
}  // namespace attnserve

// Config parsing of the state-space architectures (MambaForCausalLM, Mamba2ForCausalLM,
// JambaForCausalLM): layer schedules, state sizes, defaults as transformers resolves them, and
// start-up errors naming the unsupported option.
#include <gtest/gtest.h>

#include "engine/config/model_config.h"

namespace attnserve {
namespace {

const char* kMamba = R"({"architectures": ["MambaForCausalLM"], "vocab_size": 100, "hidden_size": 64,
  "state_size": 16, "num_hidden_layers": 3, "expand": 2, "conv_kernel": 4, "time_step_rank": "auto",
  "use_conv_bias": true, "use_bias": false, "layer_norm_epsilon": 1e-5, "intermediate_size": 128,
  "eos_token_id": 0, "hidden_act": "silu"})";

const char* kMamba2 = R"({"architectures": ["Mamba2ForCausalLM"], "vocab_size": 100, "hidden_size": 64,
  "state_size": 16, "num_hidden_layers": 2, "expand": 2, "conv_kernel": 4, "num_heads": 8, "head_dim": 16,
  "n_groups": 2, "chunk_size": 16, "time_step_limit": [0.0, Infinity], "layer_norm_epsilon": 1e-5,
  "tie_word_embeddings": false})";

const char* kJamba = R"({"architectures": ["JambaForCausalLM"], "vocab_size": 100, "hidden_size": 64,
  "intermediate_size": 96, "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2,
  "attn_layer_period": 4, "attn_layer_offset": 2, "expert_layer_period": 2, "expert_layer_offset": 1,
  "num_experts": 4, "num_experts_per_tok": 2, "mamba_d_state": 16, "mamba_d_conv": 4,
  "mamba_expand": 2, "mamba_dt_rank": 4, "rms_norm_eps": 1e-6, "max_position_embeddings": 4096})";

std::string With(std::string json, const std::string& extra) {
  json.insert(json.size() - 1, ", " + extra);
  return json;
}

TEST(SsmModelConfigTest, MambaLayersHaveAMambaMixerAndNoMlpOrAttention) {
  auto c = ModelConfig::FromJson(kMamba, "m/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ssm.inner, 128);
  EXPECT_EQ(c->ssm.dt_rank, 4);  // ceil(64 / 16)
  EXPECT_TRUE(c->tie_word_embeddings);  // MambaConfig's default
  EXPECT_FALSE(c->has_attention());
  EXPECT_TRUE(c->has_ssm());
  EXPECT_EQ(c->num_attention_layers(), 0);
  EXPECT_EQ(c->kv_dim(), 0);
  for (const LayerSpec& l : c->layers) {
    EXPECT_EQ(l.mixer, LayerSpec::Mixer::kMamba);
    EXPECT_EQ(l.mlp, LayerSpec::Mlp::kNone);
  }
  // Per layer: conv 128 x 3 + ssm 128 x 16; independent of any length.
  EXPECT_EQ(c->ssm_state_floats(), 3 * (128 * 3 + 128 * 16));
  EXPECT_EQ(c->ssm_state_offset(2), 2 * (128 * 3 + 128 * 16));
  EXPECT_EQ(c->max_position_embeddings, kUnboundedContext);
}

TEST(SsmModelConfigTest, Mamba2StateAndTimeStepLimitWithInfinity) {
  auto c = ModelConfig::FromJson(kMamba2, "m2/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->layers[0].mixer, LayerSpec::Mixer::kMamba2);
  EXPECT_EQ(c->ssm.num_heads, 8);
  EXPECT_EQ(c->ssm.num_groups, 2);
  EXPECT_EQ(c->ssm.chunk_size, 16);
  EXPECT_EQ(c->ssm.dt_max, 0.0);  // Infinity: no upper clamp
  EXPECT_FALSE(c->tie_word_embeddings);
  const int64_t conv_dim = 128 + 2 * 2 * 16;
  EXPECT_EQ(c->ssm_state_floats(), 2 * (conv_dim * 3 + 8 * 16 * 16));
  // transformers 5 writes float("inf") as {"__float__": "Infinity"}.
  auto encoded = ModelConfig::FromJson(
      With(kMamba2, R"("time_step_limit": [0.0, {"__float__": "Infinity"}])"), "m2/config.json");
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(encoded->ssm.dt_max, 0.0);
  auto limited = ModelConfig::FromJson(With(kMamba2, R"("time_step_limit": [0.01, 2.5])"), "m2/config.json");
  ASSERT_TRUE(limited.ok()) << limited.status();
  EXPECT_DOUBLE_EQ(limited->ssm.dt_min, 0.01);
  EXPECT_DOUBLE_EQ(limited->ssm.dt_max, 2.5);
}

TEST(SsmModelConfigTest, JambaSchedulesAttentionMambaAndExperts) {
  auto c = ModelConfig::FromJson(kJamba, "j/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  const LayerSpec::Mixer A = LayerSpec::Mixer::kAttention, M = LayerSpec::Mixer::kMamba;
  const LayerSpec::Mlp D = LayerSpec::Mlp::kDense, E = LayerSpec::Mlp::kMoe;
  const LayerSpec::Mixer mixers[] = {M, M, A, M};
  const LayerSpec::Mlp mlps[] = {D, E, D, E};
  for (int l = 0; l < 4; ++l) {
    EXPECT_EQ(c->layers[l].mixer, mixers[l]) << l;
    EXPECT_EQ(c->layers[l].mlp, mlps[l]) << l;
  }
  EXPECT_FALSE(c->rope);
  EXPECT_TRUE(c->ssm.bcdt_norms);
  EXPECT_EQ(c->moe.naming, MoeSpec::Naming::kJamba);
  EXPECT_FALSE(c->moe.norm_topk_prob);
  EXPECT_EQ(c->moe.expert_intermediate_size, 96);
  EXPECT_EQ(c->num_attention_layers(), 1);
  EXPECT_EQ(c->ssm_state_offset(2), -1);
  EXPECT_EQ(c->ssm_state_offset(3), 2 * (128 * 3 + 128 * 16));
  // num_experts == 1: dense feed-forward everywhere.
  auto dense = ModelConfig::FromJson(With(kJamba, R"("num_experts": 1)"), "j/config.json");
  ASSERT_TRUE(dense.ok()) << dense.status();
  for (const LayerSpec& l : dense->layers) EXPECT_EQ(l.mlp, LayerSpec::Mlp::kDense);
}

struct BadCase {
  const char* base;
  const char* extra;
  const char* expected;  // substring of the error
};

TEST(SsmModelConfigTest, UnsupportedOptionsAreStartUpErrorsNamingThem) {
  const BadCase cases[] = {
      {kMamba, R"("conv_kernel": 1)", "\"conv_kernel\" = 1 is not supported"},
      {kMamba, R"("conv_kernel": 16)", "\"conv_kernel\" = 16 is not supported"},
      {kMamba, R"("hidden_act": "gelu")", "hidden_act"},
      {kMamba, R"("intermediate_size": 100)", "intermediate_size"},
      {kMamba, R"("use_conv_bias": "yes")", "use_conv_bias"},
      {kMamba2, R"("num_heads": 7)", "num_heads * head_dim"},
      {kMamba2, R"("n_groups": 3)", "n_groups"},
      {kMamba2, R"("norm_before_gate": true)", "norm_before_gate"},
      {kMamba2, R"("rms_norm": false)", "rms_norm"},
      {kMamba2, R"("time_step_limit": [1.0, 0.5])", "time_step_limit"},
      {kJamba, R"("mamba_d_conv": 12)", "\"mamba_d_conv\" = 12"},
      {kJamba, R"("attn_layer_offset": 4)", "attn_layer_offset"},
      {kJamba, R"("num_experts_per_tok": 5)", "num_experts_per_tok"},
  };
  for (const BadCase& b : cases) {
    auto c = ModelConfig::FromJson(With(b.base, b.extra), "dir/config.json");
    ASSERT_FALSE(c.ok()) << b.extra;
    EXPECT_NE(c.status().message().find("dir/config.json"), std::string::npos) << c.status();
    EXPECT_NE(c.status().message().find(b.expected), std::string::npos) << b.extra << ": " << c.status();
  }
}

}  // namespace
}  // namespace attnserve

// ModelConfig parsing: supported variants and errors that name the file and key.
#include "engine/config/model_config.h"

#include <gtest/gtest.h>

namespace attnserve {
namespace {

const char* kLlama = R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 100, "hidden_size": 64,
  "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "rope_theta": 500000.0, "rms_norm_eps": 1e-5,
  "max_position_embeddings": 512, "eos_token_id": [5, 6]})";

TEST(ModelConfigTest, ParsesLlamaWithDefaults) {
  auto c = ModelConfig::FromJson(kLlama, "config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->kv_dim(), 32);
  EXPECT_DOUBLE_EQ(c->rope_theta, 500000.0);
  EXPECT_EQ(c->eos_token_ids, (std::vector<int32_t>{5, 6}));
  EXPECT_FALSE(c->attention_bias);
  EXPECT_EQ(c->layers.size(), 2u);
}

TEST(ModelConfigTest, RopeParametersOfTransformers5) {
  std::string j = R"({"architectures": ["Qwen2ForCausalLM"], "vocab_size": 10, "hidden_size": 8,
    "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2,
    "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}})";
  auto c = ModelConfig::FromJson(j, "x/config.json");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->rope_theta, 1e6);
  EXPECT_TRUE(c->attention_bias);
  EXPECT_FALSE(c->o_proj_bias);
  EXPECT_EQ(c->num_key_value_heads, 2);
}

TEST(ModelConfigTest, SlidingWindowLayers) {
  const std::string base = R"({"vocab_size": 10, "hidden_size": 8, "intermediate_size": 8,
    "num_hidden_layers": 4, "num_attention_heads": 2, "sliding_window": 16)";
  // Mistral: every layer slides.
  auto mistral = ModelConfig::FromJson(base + R"(, "architectures": ["MistralForCausalLM"]})", "m");
  ASSERT_TRUE(mistral.ok()) << mistral.status();
  for (const LayerSpec& l : mistral->layers) EXPECT_EQ(l.sliding_window, 16);
  // Qwen2: only with use_sliding_window, from max_window_layers on.
  auto qwen_off = ModelConfig::FromJson(base + R"(, "architectures": ["Qwen2ForCausalLM"]})", "q");
  ASSERT_TRUE(qwen_off.ok());
  for (const LayerSpec& l : qwen_off->layers) EXPECT_EQ(l.sliding_window, 0);
  auto qwen = ModelConfig::FromJson(base + R"(, "architectures": ["Qwen2ForCausalLM"],
    "use_sliding_window": true, "max_window_layers": 2})", "q");
  ASSERT_TRUE(qwen.ok());
  EXPECT_EQ(qwen->layers[1].sliding_window, 0);
  EXPECT_EQ(qwen->layers[2].sliding_window, 16);
  // layer_types (transformers >= 4.5x) decide when present.
  auto typed = ModelConfig::FromJson(base + R"(, "architectures": ["MistralForCausalLM"],
    "layer_types": ["sliding_attention", "full_attention", "sliding_attention", "full_attention"]})", "t");
  ASSERT_TRUE(typed.ok());
  EXPECT_EQ(typed->layers[0].sliding_window, 16);
  EXPECT_EQ(typed->layers[1].sliding_window, 0);
  auto bad = ModelConfig::FromJson(base + R"(, "architectures": ["MistralForCausalLM"],
    "layer_types": ["full_attention"]})", "t/config.json");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("layer_types"), std::string::npos);
}

TEST(ModelConfigTest, ErrorsNameFileAndProblem) {
  auto bad_arch = ModelConfig::FromJson(R"({"architectures": ["GPT2LMHeadModel"]})", "m/config.json");
  ASSERT_FALSE(bad_arch.ok());
  EXPECT_NE(bad_arch.status().message().find("m/config.json"), std::string::npos);
  EXPECT_NE(bad_arch.status().message().find("GPT2LMHeadModel"), std::string::npos);

  auto not_json = ModelConfig::FromJson("{nope", "m/config.json");
  ASSERT_FALSE(not_json.ok());
  EXPECT_NE(not_json.status().message().find("m/config.json"), std::string::npos);

  std::string missing = R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 100})";
  auto m = ModelConfig::FromJson(missing, "m/config.json");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("hidden_size"), std::string::npos);

  std::string gqa = kLlama;
  gqa.replace(gqa.find("\"num_key_value_heads\": 2"), 24, "\"num_key_value_heads\": 3");
  auto g = ModelConfig::FromJson(gqa, "m/config.json");
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("num_key_value_heads"), std::string::npos);

  std::string yarn = kLlama;
  yarn.insert(yarn.size() - 1, R"(, "rope_scaling": {"rope_type": "yarn", "factor": 4.0})");
  auto y = ModelConfig::FromJson(yarn, "m/config.json");
  ASSERT_TRUE(y.ok()) << y.status();  // the config's scaling is the default context policy
  EXPECT_EQ(y->rope_scaling.type, RopeScaling::Type::kYarn);
  EXPECT_DOUBLE_EQ(y->rope_scaling.factor, 4.0);

  std::string bad_rope = kLlama;
  bad_rope.insert(bad_rope.size() - 1, R"(, "rope_scaling": {"rope_type": "su", "factor": 4.0})");
  auto b = ModelConfig::FromJson(bad_rope, "m/config.json");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("m/config.json"), std::string::npos) << b.status();

  std::string partial = kLlama;
  partial.insert(partial.size() - 1, R"(, "partial_rotary_factor": 0.5)");
  auto p = ModelConfig::FromJson(partial, "m/config.json");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("partial_rotary_factor"), std::string::npos);

  auto missing_dir = ModelConfig::FromModelDir("/no/such/dir");
  ASSERT_FALSE(missing_dir.ok());
  EXPECT_NE(missing_dir.status().message().find("/no/such/dir/config.json"), std::string::npos);
}

}  // namespace
}  // namespace attnserve

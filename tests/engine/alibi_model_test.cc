// BloomForCausalLM: ALiBi positions (issue 7) against transformers. The model is the tiny random
// BLOOM of tests/golden/context_models/bloom_alibi (tools/make_context_golden_models.py): 2
// layers, 4 heads (slopes 1/4 .. 1/256), LayerNorm, fused QKV, GELU MLP, tied embeddings.
// Checked: config.json parsing and its refusals; logits at chosen positions of 40- and
// 180-token prompts, in one chunk and in chunks; transformers' cached-generation greedy tokens
// through the Engine, alone and batched with chunked prefill; Score's log-probabilities; every
// softmax attention backend applies the bias (parameters that show every key reproduce
// transformers, narrower ones change the result); linear backends and RoPE context policies are
// INVALID_ARGUMENT; "alibi" is the model's default policy and extrapolates to --max_model_len.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "engine/attention/attention_registry.h"
#include "engine/context/context_policy.h"
#include "engine/model/decoder_model.h"
#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine/output/sampler.h"
#include "engine_test_util.h"
#include "kernels/alibi.h"
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

const std::string kBloomDir = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/../context_models/bloom_alibi";

// A config.json for FromJson: the golden's, with `patch` merged over it.
absl::StatusOr<ModelConfig> PatchedConfig(const nlohmann::json& patch) {
  nlohmann::json j = ReadJson(kBloomDir + "/config.json");
  j.merge_patch(patch);
  return ModelConfig::FromJson(j.dump(), "bloom/config.json");
}

class AlibiModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    golden_ = ReadJson(kBloomDir + "/golden.json");
    auto config = ModelConfig::FromModelDir(kBloomDir);
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = *config;
    auto weights = WeightStore::Open(kBloomDir);
    ASSERT_TRUE(weights.ok()) << weights.status();
    weights_ = std::move(*weights);
  }

  // Logits f32[ids, vocab] of `ids` run in chunks of `chunk` tokens under `attention` (a
  // --attention string; "" = the model's own).
  std::vector<float> Logits(const std::vector<int32_t>& ids, const std::string& attention, int32_t chunk = 1 << 20) {
    auto model = DecoderModel::Load(config_, *weights_);
    EXPECT_TRUE(model.ok()) << model.status();
    if (!model.ok()) return {};
    std::unique_ptr<Backend> backend = MakeBackend("cpu", {2}).value();
    const int64_t block_size = 16, num_blocks = (static_cast<int64_t>(ids.size()) + 15) / 16;
    PagedKvPool kv(config_.num_attention_layers(), num_blocks, block_size, config_.kv_dim());
    std::vector<int32_t> table(num_blocks);
    for (int64_t b = 0; b < num_blocks; ++b) table[b] = static_cast<int32_t>(b);
    auto choice = ParseAttentionChoice(attention);
    EXPECT_TRUE(choice.ok()) << attention;
    auto plan = ResolveAttention(*choice, {&config_, block_size, static_cast<int64_t>(ids.size())});
    EXPECT_TRUE(plan.ok()) << attention << ": " << plan.status();
    if (!plan.ok()) return {};
    std::vector<float> all;
    for (int32_t start = 0; start < static_cast<int32_t>(ids.size()); start += chunk) {
      const int32_t n = std::min<int32_t>(chunk, static_cast<int32_t>(ids.size()) - start);
      ForwardChunk c{ids.data() + start, start, n, table.data(), true, true, plan->get()};
      std::vector<float> logits;
      EXPECT_EQ((*model)->Forward({&c, 1}, kv, *backend, logits), n);
      all.insert(all.end(), logits.begin(), logits.end());
    }
    return all;
  }

  // Largest |ours - hf| - (kAbsTol + kRelTol |hf|) over a case's stored rows (<= 0: match).
  float WorstExcess(const std::vector<float>& logits, const nlohmann::json& c) const {
    const std::vector<int64_t> positions = c["logits_positions"].get<std::vector<int64_t>>();
    const std::vector<float> expected = c["logits"].get<std::vector<float>>();
    const int64_t V = config_.vocab_size;
    EXPECT_EQ(expected.size(), positions.size() * V);
    float worst = -1.0f;
    for (size_t r = 0; r < positions.size(); ++r) {
      for (int64_t v = 0; v < V; ++v) {
        const float hf = expected[r * V + v], ours = logits[positions[r] * V + v];
        worst = std::max(worst, std::fabs(ours - hf) - (kAbsTol + kRelTol * std::fabs(hf)));
      }
    }
    return worst;
  }

  nlohmann::json golden_;
  ModelConfig config_;
  std::unique_ptr<WeightStore> weights_;
};

TEST(AlibiConfigTest, ParsesBloomConfig) {
  auto c = ModelConfig::FromModelDir(kBloomDir);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->architecture, "BloomForCausalLM");
  EXPECT_TRUE(c->alibi);
  EXPECT_FALSE(c->rope);
  EXPECT_EQ(c->norm, ModelConfig::Norm::kLayerNorm);
  EXPECT_TRUE(c->embedding_norm);
  EXPECT_FALSE(c->residual_from_norm);
  EXPECT_EQ(c->naming, ModelConfig::Naming::kBloom);
  EXPECT_EQ(c->vocab_size, 512);
  EXPECT_EQ(c->hidden_size, 64);
  EXPECT_EQ(c->num_attention_heads, 4);
  EXPECT_EQ(c->num_key_value_heads, 4);
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_EQ(c->intermediate_size, 256);
  EXPECT_EQ(c->num_hidden_layers, 2);
  EXPECT_DOUBLE_EQ(c->rms_norm_eps, 1e-5);
  EXPECT_TRUE(c->tie_word_embeddings);
  EXPECT_TRUE(c->attention_bias && c->o_proj_bias && c->mlp_bias);
  EXPECT_EQ(c->max_position_embeddings, 2048);  // no key: HF BLOOM's training length
  ASSERT_EQ(c->layers.size(), 2u);
  for (const LayerSpec& l : c->layers) {
    EXPECT_EQ(l.mixer, LayerSpec::Mixer::kAttention);
    EXPECT_EQ(l.mlp, LayerSpec::Mlp::kGelu);
    EXPECT_EQ(l.sliding_window, 0);
  }
  EXPECT_EQ(c->bos_token_id, 0);
  EXPECT_EQ(c->eos_token_ids, std::vector<int32_t>{1});
}

TEST(AlibiConfigTest, AliasesOptionsAndRefusalsNameTheKey) {
  // Older configs: n_embed (wins over hidden_size, as BloomConfig.__post_init__), the
  // attribute_map names, a recorded seq_length; the residual option; TP without slow_but_exact.
  auto c = PatchedConfig({{"n_embed", 32},
                          {"n_layer", nullptr},
                          {"num_hidden_layers", 3},
                          {"seq_length", 512},
                          {"apply_residual_connection_post_layernorm", true},
                          {"pretraining_tp", 4}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hidden_size, 32);
  EXPECT_EQ(c->head_dim, 8);
  EXPECT_EQ(c->intermediate_size, 128);
  EXPECT_EQ(c->num_hidden_layers, 3);
  EXPECT_EQ(c->layers.size(), 3u);
  EXPECT_EQ(c->max_position_embeddings, 512);
  EXPECT_TRUE(c->residual_from_norm);
  // hidden_act is not a BLOOM key (GELU-tanh always): ignored as transformers does.
  EXPECT_TRUE(PatchedConfig({{"hidden_act", "relu"}}).ok());
  struct Bad {
    nlohmann::json patch;
    absl::StatusCode code;
    std::string expected;
  };
  const Bad bad[] = {
      {{{"slow_but_exact", true}, {"pretraining_tp", 4}}, absl::StatusCode::kUnimplemented, "slow_but_exact"},
      {{{"n_head", 5}}, absl::StatusCode::kInvalidArgument, "n_head 5"},
      {{{"layer_norm_epsilon", "small"}}, absl::StatusCode::kInvalidArgument, "layer_norm_epsilon"},
      {{{"layer_norm_epsilon", 0}}, absl::StatusCode::kInvalidArgument, "layer_norm_epsilon"},
      {{{"apply_residual_connection_post_layernorm", 1}}, absl::StatusCode::kInvalidArgument,
       "apply_residual_connection_post_layernorm"},
      {{{"seq_length", -4}}, absl::StatusCode::kInvalidArgument, "seq_length"},
      {{{"n_layer", 0}}, absl::StatusCode::kInvalidArgument, "n_layer"},
  };
  for (const Bad& b : bad) {
    auto r = PatchedConfig(b.patch);
    ASSERT_FALSE(r.ok()) << b.patch.dump();
    EXPECT_EQ(r.status().code(), b.code) << r.status();
    EXPECT_NE(r.status().message().find(b.expected), std::string::npos) << r.status();
  }
}

TEST_F(AlibiModelTest, LogitsMatchTransformersInOneChunkAndInChunks) {
  EXPECT_EQ(golden_["alibi_slopes"].get<std::vector<float>>(), AlibiSlopes(4));
  for (const auto& c : golden_["logits_cases"]) {
    const std::vector<int32_t> ids = c["input_ids"].get<std::vector<int32_t>>();
    EXPECT_LE(WorstExcess(Logits(ids, ""), c), 0.0f) << ids.size() << " tokens, one chunk";
    // Later chunks attend to cached keys: the bias must use absolute positions k − p.
    EXPECT_LE(WorstExcess(Logits(ids, "", 7), c), 0.0f) << ids.size() << " tokens, chunks of 7";
  }
}

// The bigscience checkpoints store the bare BloomModel ("h.0.", "word_embeddings.weight", no
// "transformer." prefix); transformers loads both layouts, and so do we: the golden weights
// renamed that way give the same logits.
TEST_F(AlibiModelTest, LoadsTheBareBloomModelLayout) {
  std::ifstream in(kBloomDir + "/model.safetensors", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_len)), renamed;
  for (auto& [name, entry] : header.items()) {
    const std::string prefix = "transformer.";
    renamed[name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name] = entry;
  }
  std::string text = renamed.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // keep the data 8-byte aligned
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / "bloom_bare";
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / "model.safetensors", std::ios::binary);
  const uint64_t n = text.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << text << bytes.substr(8 + header_len);
  out.close();
  auto bare = WeightStore::Open(dir.string());
  ASSERT_TRUE(bare.ok()) << bare.status();
  ASSERT_TRUE((*bare)->Has("h.0.self_attention.query_key_value.weight"));
  const auto& c = golden_["logits_cases"][0];
  const std::vector<int32_t> ids = c["input_ids"].get<std::vector<int32_t>>();
  const std::vector<float> prefixed = Logits(ids, "");
  weights_ = std::move(*bare);
  EXPECT_EQ(Logits(ids, ""), prefixed);
}

TEST_F(AlibiModelTest, ResidualFromNormChangesTheModel) {
  // apply_residual_connection_post_layernorm is honoured (a different function of the weights).
  const auto& c = golden_["logits_cases"][0];
  const std::vector<int32_t> ids = c["input_ids"].get<std::vector<int32_t>>();
  config_.residual_from_norm = true;
  EXPECT_GT(WorstExcess(Logits(ids, ""), c), 1e-2f);
}

// Every backend that goes through PagedAttention adds the bias: with parameters under which each
// query sees every earlier key, each reproduces transformers' logits (a backend that dropped
// the bias would be plain unbiased attention, far off). Narrow parameters change late rows only.
TEST_F(AlibiModelTest, EverySoftmaxBackendAppliesTheBias) {
  const auto& c = golden_["logits_cases"][1];  // 180 tokens, 12 KV blocks of 16
  const std::vector<int32_t> ids = c["input_ids"].get<std::vector<int32_t>>();
  for (const char* wide : {"full", "sliding_window:window=4096", "sinks:sink_tokens=4,window=4096",
                           "transformer_xl:segment_length=64,memory_segments=3",
                           "longformer:window=4096,global_tokens=1",
                           "bigbird:block_size=16,window_blocks=24,global_blocks=1,random_blocks=0",
                           "quest:top_k_blocks=12,window=16", "sliding_window:window=4096,full_every=2"}) {
    EXPECT_LE(WorstExcess(Logits(ids, wide), c), 0.0f) << wide;
    EXPECT_LE(WorstExcess(Logits(ids, wide, 50), c), 0.0f) << wide << " in chunks of 50";
  }
  const std::vector<float> full = Logits(ids, "");
  const int64_t V = config_.vocab_size;
  for (const char* narrow : {"sliding_window:window=8", "sinks:sink_tokens=2,window=8",
                             "transformer_xl:segment_length=8,memory_segments=0", "longformer:window=8,global_tokens=1",
                             "bigbird:block_size=4,window_blocks=1,global_blocks=1,random_blocks=1",
                             "quest:top_k_blocks=1,window=4"}) {
    const std::vector<float> got = Logits(ids, narrow);
    ASSERT_EQ(got.size(), full.size()) << narrow;
    float first = 0, last = 0;  // position 0 (sees itself only) and position 179
    for (int64_t v = 0; v < V; ++v) {
      first = std::max(first, std::fabs(got[v] - full[v]));
      last = std::max(last, std::fabs(got[179 * V + v] - full[179 * V + v]));
    }
    EXPECT_LT(first, 1e-4f) << narrow;
    EXPECT_GT(last, 1e-3f) << narrow;
  }
}

TEST_F(AlibiModelTest, LinearBackendsCannotApplyTheBias) {
  for (const char* linear : {"performer", "elu_linear", "performer:num_features=64,full_every=2"}) {
    auto plan = ResolveAttention(*ParseAttentionChoice(linear), {&config_, 16, 0});
    ASSERT_FALSE(plan.ok()) << linear;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find("ALiBi"), std::string::npos) << plan.status();
    EXPECT_NE(plan.status().message().find("linear attention"), std::string::npos) << plan.status();
  }
}

TEST_F(AlibiModelTest, ContextPoliciesAlibiOnly) {
  for (const char* ok : {"", "model_default", "alibi"}) {
    auto plan = ResolveContextPolicy(*ParseContextPolicyChoice(ok), {&config_, 8192});
    ASSERT_TRUE(plan.ok()) << ok << ": " << plan.status();
    EXPECT_EQ((*plan)->kind, "alibi");
    EXPECT_FALSE((*plan)->rope);
    EXPECT_EQ((*plan)->description, "");  // one prefix-cache key for both spellings
    EXPECT_EQ((*plan)->max_length, 8192);  // extrapolates to --max_model_len
  }
  for (const char* bad : {"yarn:factor=2", "none", "linear:factor=2", "dynamic_ntk:factor=2", "sinks"}) {
    auto plan = ResolveContextPolicy(*ParseContextPolicyChoice(bad), {&config_, 8192});
    ASSERT_FALSE(plan.ok()) << bad;
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(plan.status().message().find("context_policy.kind"), std::string::npos) << plan.status();
    EXPECT_NE(plan.status().message().find("ALiBi"), std::string::npos) << plan.status();
  }
}

// Engine options for the tiny BLOOM: a small KV pool, 2 threads.
EngineOptions BloomOptions() {
  EngineOptions o;
  o.model_dir = kBloomDir;
  o.num_threads = 2;
  o.kv_cache_bytes = int64_t{32} << 20;
  return o;
}

std::vector<GenerateSpec> GoldenGreedySpecs(const nlohmann::json& golden) {
  std::vector<GenerateSpec> specs;
  for (const char* cases : {"greedy_cases", "crossing_greedy_cases"}) {
    for (const auto& c : golden[cases]) {
      specs.push_back(GreedySpec(std::string(cases) + std::to_string(specs.size()),
                                 c["prompt_ids"].get<std::vector<int32_t>>(),
                                 static_cast<uint32_t>(c["generated_ids"].size())));
    }
  }
  return specs;
}

std::vector<std::vector<int32_t>> GoldenGreedyTokens(const nlohmann::json& golden) {
  std::vector<std::vector<int32_t>> tokens;
  for (const char* cases : {"greedy_cases", "crossing_greedy_cases"})
    for (const auto& c : golden[cases]) tokens.push_back(c["generated_ids"].get<std::vector<int32_t>>());
  return tokens;
}

TEST(AlibiEngineTest, GreedyTokensMatchTransformersAloneAndBatchedWithChunkedPrefill) {
  const nlohmann::json golden = ReadJson(kBloomDir + "/golden.json");
  const std::vector<GenerateSpec> specs = GoldenGreedySpecs(golden);
  const std::vector<std::vector<int32_t>> expected = GoldenGreedyTokens(golden);
  {
    auto engine = MakeEngine(BloomOptions());
    ASSERT_NE(engine, nullptr);
    EXPECT_EQ(engine->info().context_policies, (std::vector<std::string>{"model_default", "alibi"}));
    EXPECT_EQ(engine->info().default_context_policy, "alibi");
    engine->Start();
    for (size_t i = 0; i < specs.size(); ++i) {
      auto sink = std::make_shared<CollectingSink>();
      ASSERT_TRUE(engine->SubmitGenerate(specs[i], sink).ok());
      sink->Wait();
      EXPECT_EQ(sink->token_ids, expected[i]) << specs[i].request_id << " alone";
    }
  }
  EngineOptions o = BloomOptions();
  o.max_num_batched_tokens = 5;  // every prompt prefills in chunks, decodes share steps
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  std::vector<std::shared_ptr<CollectingSink>> sinks;
  for (int round = 0; round < 2; ++round) {
    for (const GenerateSpec& s : specs) {
      GenerateSpec spec = s;
      spec.request_id += "_batched" + std::to_string(round);
      if (round == 1) spec.context_policy.kind = "alibi";  // the same plan, spelled out
      sinks.push_back(std::make_shared<CollectingSink>());
      ASSERT_TRUE(engine->SubmitGenerate(spec, sinks.back()).ok());
    }
  }
  for (size_t i = 0; i < sinks.size(); ++i) {
    sinks[i]->Wait();
    EXPECT_EQ(sinks[i]->token_ids, expected[i % specs.size()]) << "batched request " << i;
  }
}

TEST(AlibiEngineTest, SoftmaxBackendsThroughTheEngine) {
  const nlohmann::json golden = ReadJson(kBloomDir + "/golden.json");
  const std::vector<GenerateSpec> specs = GoldenGreedySpecs(golden);
  const std::vector<std::vector<int32_t>> expected = GoldenGreedyTokens(golden);
  EngineOptions o = BloomOptions();
  o.max_num_batched_tokens = 16;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  // Wide enough to see every key: transformers' tokens. Narrow: runs to the end (own tokens).
  for (const char* wide : {"sliding_window:window=1024", "sinks:sink_tokens=4,window=1024",
                           "longformer:window=1024,global_tokens=2", "quest:top_k_blocks=16,window=16",
                           "bigbird:block_size=16,window_blocks=32,global_blocks=1,random_blocks=0"}) {
    for (size_t i = 0; i < specs.size(); ++i) {
      GenerateSpec spec = specs[i];
      spec.request_id += std::string("_") + wide;
      spec.attention = *ParseAttentionChoice(wide);
      auto sink = std::make_shared<CollectingSink>();
      const absl::Status s = engine->SubmitGenerate(spec, sink);
      ASSERT_TRUE(s.ok()) << wide << ": " << s;
      sink->Wait();
      EXPECT_EQ(sink->token_ids, expected[i]) << wide;
    }
  }
  for (const char* narrow : {"sliding_window:window=8", "sinks:sink_tokens=2,window=8", "quest:top_k_blocks=1,window=8"}) {
    GenerateSpec spec = specs[0];
    spec.request_id += std::string("_") + narrow;
    spec.attention = *ParseAttentionChoice(narrow);
    auto sink = std::make_shared<CollectingSink>();
    ASSERT_TRUE(engine->SubmitGenerate(spec, sink).ok()) << narrow;
    sink->Wait();
    EXPECT_EQ(sink->token_ids.size(), expected[0].size()) << narrow;
  }
  for (const char* linear : {"performer", "elu_linear"}) {
    GenerateSpec spec = specs[0];
    spec.attention = *ParseAttentionChoice(linear);
    const absl::Status s = engine->SubmitGenerate(spec, std::make_shared<CollectingSink>());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << linear;
    EXPECT_NE(s.message().find("ALiBi"), std::string::npos) << s;
  }
  // A deployment default that cannot apply the bias fails at start-up.
  EngineOptions linear = BloomOptions();
  linear.attention = *ParseAttentionChoice("elu_linear");
  auto refused = Engine::Load(linear);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--attention=elu_linear"), std::string::npos) << refused.status();
}

TEST(AlibiEngineTest, ScoreMatchesTransformers) {
  const nlohmann::json golden = ReadJson(kBloomDir + "/golden.json");
  EngineOptions o = BloomOptions();
  o.max_num_batched_tokens = 7;  // Score in several chunks
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  for (const auto& c : golden["logits_cases"]) {
    ScoreSpec spec;
    spec.request_id = "score" + std::to_string(c["input_ids"].size());
    spec.token_ids = c["input_ids"].get<std::vector<int32_t>>();
    spec.return_logits = true;
    std::promise<absl::StatusOr<ScoreResult>> done;
    ASSERT_TRUE(engine->SubmitScore(spec, [&](absl::StatusOr<ScoreResult> r) { done.set_value(std::move(r)); }).ok());
    absl::StatusOr<ScoreResult> result = done.get_future().get();
    ASSERT_TRUE(result.ok()) << result.status();
    const int64_t V = result->vocab_size;
    ASSERT_EQ(result->token_logprobs.size(), spec.token_ids.size() - 1);
    const std::vector<int64_t> positions = c["logits_positions"].get<std::vector<int64_t>>();
    const std::vector<float> expected = c["logits"].get<std::vector<float>>();
    std::vector<float> lp(V);
    for (size_t r = 0; r < positions.size(); ++r) {
      const int64_t p = positions[r];
      for (int64_t v = 0; v < V; ++v) {
        const float hf = expected[r * V + v];
        ASSERT_LE(std::fabs(result->logits[p * V + v] - hf), kAbsTol + kRelTol * std::fabs(hf)) << p << " " << v;
      }
      if (p + 1 >= static_cast<int64_t>(spec.token_ids.size())) continue;
      LogSoftmaxRow({expected.data() + r * V, static_cast<size_t>(V)}, lp);
      EXPECT_NEAR(result->token_logprobs[p], lp[spec.token_ids[p + 1]], 1e-3) << "position " << p;
    }
  }
}

TEST(AlibiEngineTest, ContextPoliciesAndExtrapolationLimit) {
  const std::vector<int32_t> prompt = {0, 5, 9, 300, 12};
  {
    auto engine = MakeEngine(BloomOptions());  // --max_model_len: the trained 2048
    ASSERT_NE(engine, nullptr);
    for (const char* bad : {"yarn:factor=2", "none", "sinks"}) {
      GenerateSpec spec = GreedySpec("bad", prompt, 4);
      spec.context_policy = *ParseContextPolicyChoice(bad);
      const absl::Status s = engine->SubmitGenerate(spec, std::make_shared<CollectingSink>());
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad;
      EXPECT_NE(s.message().find("ALiBi"), std::string::npos) << s;
    }
    GenerateSpec too_long = GreedySpec("long", prompt, 3000);
    const absl::Status s = engine->SubmitGenerate(too_long, std::make_shared<CollectingSink>());
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  }
  // ALiBi extrapolates: with --max_model_len above the trained length the default policy
  // reaches it, and decoding past 2048 positions runs.
  EngineOptions o = BloomOptions();
  o.max_model_len = 4096;
  o.max_num_batched_tokens = 1024;
  auto engine = MakeEngine(o);
  ASSERT_NE(engine, nullptr);
  engine->Start();
  std::vector<int32_t> long_prompt = testing::RandomPrompt(2100, 3);
  for (int32_t& t : long_prompt) t %= 512;
  auto sink = std::make_shared<CollectingSink>();
  ASSERT_TRUE(engine->SubmitGenerate(GreedySpec("past_trained", long_prompt, 8), sink).ok());
  sink->Wait();
  EXPECT_EQ(sink->token_ids.size(), 8u);
}

}  // namespace
}  // namespace attnserve

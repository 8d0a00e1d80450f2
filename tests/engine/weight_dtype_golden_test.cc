// --weight_dtype against transformers (tools/make_dtype_golden.py): for each golden model and
// dtype with a tests/golden/models/<name>/golden_<dtype>.json, the model loaded with its weight
// matrices held in that dtype gives the logits transformers computes in float32 with the same
// matrices rounded to the dtype (bf16 / f16 rounding, gguf-py's q8_0 / q4_0 quantize + dequantize),
// within the float32 golden tolerance, and the same greedy tokens — with exactly widened weights
// and f32 activations (quantize_activations = false; the default int8 activations of q8_0 / q4_0
// decode are bounded by tests/kernels/typed_linear_test.cc and the perplexity figures of
// docs/benchmarks.md). Also: the parameter bytes shrink as the dtype says, and a model whose rows
// are not multiples of 32 refuses q8_0 / q4_0 naming the tensor.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "engine/model/decoder_model.h"
#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine_test_util.h"
#include "golden_forward.h"
#include "kernels/backend_registry.h"

namespace attnserve {
namespace {

using testing::CollectingSink;
using testing::ExpectGoldenGreedy;
using testing::ExpectGoldenLogits;
using testing::GoldenForward;
using testing::GoldenModelDirs;
using testing::GreedySpec;
using testing::ReadJson;

struct DTypeGolden {
  std::string dir, dtype;
};
void PrintTo(const DTypeGolden& g, std::ostream* os) { *os << g.dir << " " << g.dtype; }

std::vector<DTypeGolden> DTypeGoldens() {
  std::vector<DTypeGolden> out;
  const std::regex name("golden_(.+)\\.json");
  for (const std::string& dir : GoldenModelDirs()) {
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::smatch m;
      const std::string file = e.path().filename().string();
      if (std::regex_match(file, m, name)) out.push_back({dir, m[1]});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.dir + a.dtype < b.dir + b.dtype; });
  return out;
}

class WeightDTypeGoldenTest : public ::testing::TestWithParam<DTypeGolden> {};

TEST_P(WeightDTypeGoldenTest, LogitsMatchTransformersOnRoundedWeights) {
  const auto& [dir, dtype_name] = GetParam();
  const std::optional<DType> dtype = ParseDType(dtype_name);
  ASSERT_TRUE(dtype.has_value()) << dtype_name;
  auto config = ModelConfig::FromModelDir(dir);
  ASSERT_TRUE(config.ok()) << config.status();
  auto weights = WeightStore::Open(dir);
  ASSERT_TRUE(weights.ok()) << weights.status();
  auto model = DecoderModel::Load(*config, **weights, dtype);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->matrix_dtype(), DTypeName(*dtype));
  auto f32 = DecoderModel::Load(*config, **weights, DType::kF32);
  ASSERT_TRUE(f32.ok()) << f32.status();
  EXPECT_LT((*model)->parameter_bytes(), (*f32)->parameter_bytes()) << "the dtype must shrink the weights";

  std::unique_ptr<Backend> backend = MakeBackend("cpu", {0, /*quantize_activations=*/false}).value();
  nlohmann::json golden = ReadJson(dir + "/golden_" + dtype_name + ".json");
  const auto& c = golden["logits_cases"][0];
  const std::vector<float> logits =
      GoldenForward(**model, *config, c["input_ids"].get<std::vector<int32_t>>(), *backend);
  ExpectGoldenLogits(logits, c["logits"].get<std::vector<float>>(), config->vocab_size, dir + " " + dtype_name);
}

TEST_P(WeightDTypeGoldenTest, GreedyTokensMatchTransformersOnRoundedWeights) {
  const auto& [dir, dtype_name] = GetParam();
  nlohmann::json golden = ReadJson(dir + "/golden_" + dtype_name + ".json");
  EngineOptions options;
  options.model_dir = dir;
  options.weight_dtype = ParseDType(dtype_name);
  options.quantize_activations = false;
  auto engine = Engine::Load(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->info().matrix_dtype, DTypeName(*options.weight_dtype));
  (*engine)->Start();
  ExpectGoldenGreedy(**engine, golden, dir + " " + dtype_name);
}

INSTANTIATE_TEST_SUITE_P(Models, WeightDTypeGoldenTest, ::testing::ValuesIn(DTypeGoldens()),
                         [](const auto& info) {
                           return std::filesystem::path(info.param.dir).filename().string() + "_" +
                                  info.param.dtype;
                         });

TEST(WeightDTypeTest, BlockDTypeNeedsRowsOfWholeBlocks) {
  const std::string dir = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/qwen2_moe";  // expert rows of 48
  auto config = ModelConfig::FromModelDir(dir);
  ASSERT_TRUE(config.ok()) << config.status();
  auto weights = WeightStore::Open(dir);
  ASSERT_TRUE(weights.ok()) << weights.status();
  for (DType dtype : {DType::kQ8_0, DType::kQ4_0}) {
    auto model = DecoderModel::Load(*config, **weights, dtype);
    ASSERT_FALSE(model.ok());
    EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(model.status().message().find("weight dtype " + std::string(DTypeName(dtype)) +
                                            " needs 32-element blocks"), std::string::npos)
        << model.status();
    EXPECT_NE(model.status().message().find("model.layers.0."), std::string::npos) << model.status();
  }
}

}  // namespace
}  // namespace attnserve

namespace attnserve {
namespace {

// Every device of the registry serves a golden model with transformers' greedy tokens
// (kernels/backend_registry.h; the reference device is the naive oracle).
TEST(DeviceRegistryTest, EveryDeviceGivesTheGoldenGreedyTokens) {
  const std::string dir = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/llama_gqa";
  nlohmann::json golden = testing::ReadJson(dir + "/golden.json");
  for (const std::string& device : DeviceNames()) {
    EngineOptions options;
    options.model_dir = dir;
    options.device = device;
    auto engine = Engine::Load(options);
    ASSERT_TRUE(engine.ok()) << device << ": " << engine.status();
    EXPECT_EQ((*engine)->info().backend, device);
    (*engine)->Start();
    const auto& c = golden["greedy_cases"][0];
    auto expected = c["generated_ids"].get<std::vector<int32_t>>();
    auto sink = std::make_shared<testing::CollectingSink>();
    ASSERT_TRUE((*engine)->SubmitGenerate(
        testing::GreedySpec("d", c["prompt_ids"].get<std::vector<int32_t>>(), expected.size()), sink).ok());
    sink->Wait();
    EXPECT_EQ(sink->token_ids, expected) << device;
  }
  EngineOptions bad;
  bad.model_dir = dir;
  bad.device = "tpu";
  auto engine = Engine::Load(bad);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("unknown device 'tpu'"), std::string::npos) << engine.status();
}

}  // namespace
}  // namespace attnserve

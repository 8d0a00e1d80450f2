// GGUF models against transformers (tools/make_gguf_golden.py): each golden model written as a
// GGUF file in each ggml format (tests/golden/gguf_models/<model>_<format>.gguf) gives, loaded with
// its blocks as they are and f32 activations (quantize_activations = false), the logits
// transformers computes on that very file (which dequantizes to f32) within the golden tolerance,
// and its greedy tokens through the engine. Also: a GGUF f32 file and the HF directory it was
// written from give bitwise equal logits (names, shapes, Q/K un-permutation); bad files give the
// start-up error of tests/golden/gguf_models/bad/cases.json; the real SmolLM2-135M-Instruct Q4_1
// file (tests/default_chat_model.h) matches transformers on its own chat template, ids and tokens.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "engine/chat/chat_template.h"
#include "engine/model/decoder_model.h"
#include "engine/loader/gguf_model.h"
#include "engine/runtime/engine.h"
#include "engine/model/model_source.h"
#include "engine_test_util.h"
#include "golden_forward.h"
#include "tests/default_chat_model.h"
#include "kernels/backend_registry.h"

namespace attnserve {
namespace {

using testing::CollectingSink;
using testing::ExpectGoldenGreedy;
using testing::ExpectGoldenLogits;
using testing::GoldenForward;
using testing::GreedySpec;
using testing::ReadJson;

const std::string kGgufDir = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/../gguf_models";

// The stems of every <model>_<format>.json golden.
std::vector<std::string> GgufGoldens() {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(kGgufDir)) {
    if (e.path().extension() == ".json") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class GgufGoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GgufGoldenTest, LogitsMatchTransformersOnTheSameFile) {
  const std::string path = kGgufDir + "/" + GetParam() + ".gguf";
  const nlohmann::json golden = ReadJson(kGgufDir + "/" + GetParam() + ".json");
  auto source = OpenModelSource(path, /*with_tokenizer=*/false);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_TRUE(source->gguf);
  auto model = DecoderModel::Load(source->config, *source->weights, std::nullopt);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::optional<DType> format = ParseDType(golden["format"].get<std::string>());
  ASSERT_TRUE(format.has_value()) << golden["format"];
  EXPECT_EQ((*model)->matrix_dtype(), DTypeName(*format)) << "blocks are used in their file format";
  std::unique_ptr<Backend> backend = MakeBackend("cpu", {0, /*quantize_activations=*/false}).value();
  const auto& c = golden["logits_cases"][0];
  const std::vector<float> logits =
      GoldenForward(**model, source->config, c["input_ids"].get<std::vector<int32_t>>(), *backend);
  ExpectGoldenLogits(logits, c["logits"].get<std::vector<float>>(), source->config.vocab_size, GetParam());
}

TEST_P(GgufGoldenTest, GreedyTokensMatchTransformersThroughTheEngine) {
  const nlohmann::json golden = ReadJson(kGgufDir + "/" + GetParam() + ".json");
  EngineOptions options;
  options.model_dir = kGgufDir + "/" + GetParam() + ".gguf";
  options.quantize_activations = false;
  auto engine = Engine::Load(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  (*engine)->Start();
  ExpectGoldenGreedy(**engine, golden, GetParam());
}

INSTANTIATE_TEST_SUITE_P(Files, GgufGoldenTest, ::testing::ValuesIn(GgufGoldens()),
                         [](const auto& info) { return info.param; });

// The f32 GGUF file and its source directory: the same model, bit for bit.
TEST(GgufModelTest, F32FileEqualsItsHfDirectoryBitwise) {
  std::unique_ptr<Backend> backend = MakeBackend("cpu", {1, false}).value();
  const std::vector<int32_t> ids = {0, 17, 250, 3, 99, 411, 8, 8, 120, 7, 301, 45, 2, 66};
  std::vector<std::vector<float>> out;
  for (const std::string& path : {kGgufDir + "/llama_gqa_f32.gguf", std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/llama_gqa"}) {
    auto source = OpenModelSource(path, false);
    ASSERT_TRUE(source.ok()) << source.status();
    auto model = DecoderModel::Load(source->config, *source->weights, std::nullopt);
    ASSERT_TRUE(model.ok()) << model.status();
    out.push_back(GoldenForward(**model, source->config, ids, *backend));
  }
  ASSERT_EQ(out[0].size(), out[1].size());
  EXPECT_EQ(out[0], out[1]);
}

TEST(GgufModelTest, BadFilesGiveStartUpErrorsNamingTheFileAndField) {
  const std::string dir = kGgufDir + "/bad";
  const nlohmann::json cases = ReadJson(dir + "/cases.json");
  ASSERT_GE(cases.size(), 9u);
  for (const auto& c : cases) {
    const std::string path = dir + "/" + c["file"].get<std::string>();
    EngineOptions options;
    options.model_dir = path;
    auto engine = Engine::Load(options);
    ASSERT_FALSE(engine.ok()) << path;
    const std::string message(engine.status().message());
    EXPECT_NE(message.find(c["error"].get<std::string>()), std::string::npos) << path << ": " << message;
    EXPECT_NE(message.find(c["file"].get<std::string>()), std::string::npos) << "names the file: " << message;
  }
  EngineOptions missing;
  missing.model_dir = dir + "/no_such_model.gguf";
  auto engine = Engine::Load(missing);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), absl::StatusCode::kNotFound) << engine.status();
}

// The real SmolLM2-135M-Instruct Q4_1 GGUF (tests/default_chat_model.h: fetched into the model
// cache by scripts/run_tests.sh). Against transformers on the
// same file (tests/golden/gguf_models/smollm2/greedy.json, tools/make_gguf_golden.py):
// the GGUF's own chat template renders the conversation byte for byte, the GGUF tokenizer gives
// the same prompt ids, and with f32 activations the greedy reply ids are the same ("The capital
// of France is Paris.").
TEST(GgufModelTest, SmolLM2MatchesTransformersOnItsOwnFile) {
  const std::string path = testing::DefaultChatModelPath();
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/fetch_default_model.sh";
  const nlohmann::json golden = ReadJson(kGgufDir + "/smollm2/greedy.json");
  auto gguf = OpenGgufModel(path);
  ASSERT_TRUE(gguf.ok()) << gguf.status();
  auto tmpl = chat::ChatTemplate::Parse(gguf->chat_template);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status();
  EngineOptions options;
  options.model_dir = path;
  options.quantize_activations = false;
  auto engine = Engine::Load(options);
  ASSERT_TRUE(engine.ok()) << engine.status();
  EXPECT_EQ((*engine)->info().matrix_dtype, "q8_0+q4_1");
  (*engine)->Start();
  int n = 0;
  for (const auto& c : golden["cases"]) {
    chat::ChatRenderInput input;
    input.messages = nlohmann::ordered_json::parse(c["messages"].dump());
    input.bos_token = gguf->bos_token;
    input.eos_token = gguf->eos_token;
    auto rendered = tmpl->Render(input);
    ASSERT_TRUE(rendered.ok()) << rendered.status();
    EXPECT_EQ(*rendered, c["prompt"].get<std::string>());
    const std::vector<int32_t> ids = (*engine)->tokenizer().Encode(*rendered, /*add_special_tokens=*/false);
    EXPECT_EQ(ids, c["prompt_ids"].get<std::vector<int32_t>>());
    const auto expected = c["generated_ids"].get<std::vector<int32_t>>();
    auto sink = std::make_shared<CollectingSink>();
    ASSERT_TRUE((*engine)->SubmitGenerate(GreedySpec("smollm2_" + std::to_string(n++), ids, expected.size()), sink).ok());
    sink->Wait();
    EXPECT_EQ(sink->token_ids, expected) << c["text"] << " (min_top2_margin " << c["min_top2_margin"] << ")";
  }
}

}  // namespace
}  // namespace attnserve

// Tests WeightStore: f32/f16/bf16 round trips through LoadF32 (zero-copy and converted paths),
// shape checks, model-directory resolution (single file, directory scan, sharded index) and its
// errors, and opening the committed golden model directories.
#include "engine/loader/weight_store.h"

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/loader/safetensors_test_writer.h"

namespace attnserve {
namespace {

using ::attnserve::testing::F32Bytes;
using ::attnserve::testing::SerializeSafetensors;
using ::attnserve::testing::TempDir;
using ::attnserve::testing::TensorBytes;
using ::attnserve::testing::U16Bytes;
using ::attnserve::testing::WriteFile;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::unique_ptr<WeightStore> OpenOrDie(const std::string& dir) {
  auto store = WeightStore::Open(dir);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

std::vector<float> Values(const F32Tensor& t) { return {t.data, t.data + t.numel()}; }

TEST(WeightStore, F32RoundTripIsZeroCopy) {
  TempDir dir;
  const std::vector<float> w = {0.5f, -1.25f, 3e-40f, 7.0f, -0.0f, 1e30f};
  WriteFile(dir.File("model.safetensors"), SerializeSafetensors({{"w", "F32", {2, 3}, F32Bytes(w)}}));
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  auto t = store->LoadF32("w", {2, 3});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->numel(), 6);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values(*t), w);
  EXPECT_EQ(t->owner, nullptr);  // points into the mapping
  EXPECT_EQ(static_cast<const void*>(t->data), (*store->Get("w"))->data);
}

TEST(WeightStore, UnalignedF32IsCopiedToAlignedBuffer) {
  TempDir dir;
  // A 2-byte tensor first puts "w" at data offset 2: not 4-byte aligned.
  WriteFile(dir.File("model.safetensors"),
            SerializeSafetensors({{"a", "F16", {1}, U16Bytes({0x3C00})},
                                  {"w", "F32", {3}, F32Bytes({1.0f, 2.0f, 3.0f})}}));
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  ASSERT_NE(reinterpret_cast<uintptr_t>((*store->Get("w"))->data) % 4, 0u);
  auto t = store->LoadF32("w", {3});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_NE(t->owner, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data) % 64, 0u);
  EXPECT_THAT(Values(*t), ElementsAre(1.0f, 2.0f, 3.0f));
}

TEST(WeightStore, F16RoundTripIncludingSubnormalsAndInf) {
  TempDir dir;
  // 1, -2, 65504, smallest subnormal, largest subnormal, +inf, -inf, 1/3 (rounded), then 12 more
  // so the vector path runs too.
  std::vector<uint16_t> bits = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0xFC00, 0x3555};
  for (int i = 0; i < 12; ++i) bits.push_back(static_cast<uint16_t>(0x3C00 + i));  // 1 + i/1024
  WriteFile(dir.File("model.safetensors"),
            SerializeSafetensors({{"h", "F16", {4, 5}, U16Bytes(bits)}}));
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->PredominantDType(), "float16");
  auto t = store->LoadF32("h", {4, 5});
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_NE(t->owner, nullptr);
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> head(t->data, t->data + 8);
  EXPECT_THAT(head, ElementsAre(1.0f, -2.0f, 65504.0f, std::ldexp(1.0f, -24),
                                std::ldexp(1023.0f, -24), inf, -inf, 0.333251953125f));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(t->data[8 + i], 1.0f + i / 1024.0f);
}

TEST(WeightStore, BF16RoundTrip) {
  TempDir dir;
  std::vector<uint16_t> bits = {0x3F80, 0xC040, 0x0001, 0x7F80, 0x3EAB};
  for (int i = 0; i < 20; ++i) bits.push_back(static_cast<uint16_t>(0x4000 + i));
  WriteFile(dir.File("model.safetensors"),
            SerializeSafetensors({{"b", "BF16", {25}, U16Bytes(bits)}}));
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  auto t = store->LoadF32("b", {25});
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->data[0], 1.0f);
  EXPECT_EQ(t->data[1], -3.0f);
  EXPECT_EQ(t->data[2], std::ldexp(1.0f, -133));
  EXPECT_EQ(t->data[3], std::numeric_limits<float>::infinity());
  EXPECT_EQ(t->data[4], 0.333984375f);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(t->data[5 + i], 2.0f + i / 64.0f) << i;
}

TEST(WeightStore, ConvertedTensorOutlivesNothingButItsOwner) {
  TempDir dir;
  WriteFile(dir.File("model.safetensors"),
            SerializeSafetensors({{"b", "BF16", {2}, U16Bytes({0x3F80, 0x4000})}}));
  F32Tensor t;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_TRUE(store);
    t = *store->LoadF32("b", {2});
  }
  EXPECT_EQ(t.data[1], 2.0f);  // the converted copy is owned by t.owner, not the store
}

TEST(WeightStore, ShapeMismatchNamesTensorFileAndShapes) {
  TempDir dir;
  WriteFile(dir.File("model.safetensors"),
            SerializeSafetensors({{"layer.w", "F32", {2, 3}, F32Bytes({1, 2, 3, 4, 5, 6})}}));
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  for (const std::vector<int64_t>& wrong : std::vector<std::vector<int64_t>>{{3, 2}, {6}, {2, 3, 1}}) {
    auto t = store->LoadF32("layer.w", wrong);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr("'layer.w'"));
    EXPECT_THAT(t.status().message(), HasSubstr(dir.File("model.safetensors")));
    EXPECT_THAT(t.status().message(), HasSubstr("found [2, 3]"));
  }
  auto t = store->LoadF32("layer.w", {3, 2});
  EXPECT_THAT(t.status().message(), HasSubstr("expected shape [3, 2]"));
}

TEST(WeightStore, MissingTensorIsNotFound) {
  TempDir dir;
  WriteFile(dir.File("model.safetensors"), SerializeSafetensors({{"a", "F32", {1}, F32Bytes({1})}}));
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  EXPECT_TRUE(store->Has("a"));
  EXPECT_FALSE(store->Has("lm_head.weight"));
  auto t = store->LoadF32("lm_head.weight", {1});
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(), HasSubstr("'lm_head.weight'"));
  EXPECT_THAT(t.status().message(), HasSubstr(dir.path()));
}

TEST(WeightStore, DirectoryScanLoadsEverySafetensorsFile) {
  TempDir dir;
  WriteFile(dir.File("b.safetensors"), SerializeSafetensors({{"y", "BF16", {1}, U16Bytes({0x3F80})},
                                                             {"z", "BF16", {1}, U16Bytes({0x3F80})}}));
  WriteFile(dir.File("a.safetensors"), SerializeSafetensors({{"x", "F32", {1}, F32Bytes({1})}}));
  WriteFile(dir.File("notes.txt"), "not weights");
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  EXPECT_THAT(store->Names(), ElementsAre("x", "y", "z"));
  EXPECT_EQ((*store->Get("y"))->file, dir.File("b.safetensors"));
  EXPECT_EQ(store->PredominantDType(), "bfloat16");
}

TEST(WeightStore, DuplicateTensorAcrossFilesNamesBothFiles) {
  TempDir dir;
  WriteFile(dir.File("a.safetensors"), SerializeSafetensors({{"x", "F32", {1}, F32Bytes({1})}}));
  WriteFile(dir.File("b.safetensors"), SerializeSafetensors({{"x", "F32", {1}, F32Bytes({2})}}));
  auto store = WeightStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr("'x'"));
  EXPECT_THAT(store.status().message(), HasSubstr(dir.File("a.safetensors")));
  EXPECT_THAT(store.status().message(), HasSubstr(dir.File("b.safetensors")));
}

TEST(WeightStore, NoWeightsInDirectory) {
  TempDir dir;
  WriteFile(dir.File("config.json"), "{}");
  auto store = WeightStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store.status().message(), "no *.safetensors weights in " + dir.path());
}

TEST(WeightStore, MissingDirectory) {
  auto store = WeightStore::Open("/nonexistent/attnserve/model");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(store.status().message(), HasSubstr("/nonexistent/attnserve/model"));
}

constexpr char kIndex[] = "model.safetensors.index.json";

void WriteShardedModel(const TempDir& dir) {
  WriteFile(dir.File("model-00001-of-00002.safetensors"),
            SerializeSafetensors({{"embed", "BF16", {2, 2}, U16Bytes({0x3F80, 0x4000, 0x4040, 0x4080})},
                                  {"norm", "F32", {2}, F32Bytes({1, 1})}}));
  WriteFile(dir.File("model-00002-of-00002.safetensors"),
            SerializeSafetensors({{"head", "BF16", {1, 2}, U16Bytes({0xBF80, 0x0000})}}));
  // A stray file the index does not name is ignored.
  WriteFile(dir.File("consolidated.safetensors"),
            SerializeSafetensors({{"embed", "F32", {1}, F32Bytes({9})}}));
  WriteFile(dir.File(kIndex), R"({"metadata": {"total_size": 20}, "weight_map": {
      "embed": "model-00001-of-00002.safetensors", "norm": "model-00001-of-00002.safetensors",
      "head": "model-00002-of-00002.safetensors"}})");
}

TEST(WeightStore, ShardedIndexLoadsItsShards) {
  TempDir dir;
  WriteShardedModel(dir);
  auto store = OpenOrDie(dir.path());
  ASSERT_TRUE(store);
  EXPECT_THAT(store->Names(), ElementsAre("embed", "head", "norm"));
  EXPECT_EQ(store->PredominantDType(), "bfloat16");
  auto embed = store->LoadF32("embed", {2, 2});
  ASSERT_TRUE(embed.ok()) << embed.status();
  EXPECT_THAT(Values(*embed), ElementsAre(1.0f, 2.0f, 3.0f, 4.0f));
  auto head = store->LoadF32("head", {1, 2});
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_THAT(Values(*head), ElementsAre(-1.0f, 0.0f));
  EXPECT_EQ((*store->Get("head"))->file, dir.File("model-00002-of-00002.safetensors"));
}

TEST(WeightStore, IndexNamingMissingShardNamesIndexAndShard) {
  TempDir dir;
  WriteShardedModel(dir);
  std::filesystem::remove(dir.File("model-00002-of-00002.safetensors"));
  auto store = WeightStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(store.status().message(), HasSubstr(dir.File(kIndex)));
  EXPECT_THAT(store.status().message(), HasSubstr("model-00002-of-00002.safetensors"));
}

TEST(WeightStore, IndexDisagreeingWithShardIsAnError) {
  TempDir dir;
  WriteShardedModel(dir);
  WriteFile(dir.File(kIndex), R"({"weight_map": {"embed": "model-00001-of-00002.safetensors",
      "head": "model-00001-of-00002.safetensors"}})");
  auto store = WeightStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(dir.File(kIndex)));
  EXPECT_THAT(store.status().message(), HasSubstr("'head'"));
}

TEST(WeightStore, MalformedIndexNamesIt) {
  TempDir dir;
  WriteShardedModel(dir);
  for (const char* bad : {"{\"weight_map\": ", "[]", R"({"weight_map": {"embed": 3}})"}) {
    WriteFile(dir.File(kIndex), bad);
    auto store = WeightStore::Open(dir.path());
    ASSERT_FALSE(store.ok()) << bad;
    EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(store.status().message(), HasSubstr(dir.File(kIndex))) << bad;
  }
}

TEST(WeightStore, CorruptShardNamesTheShard) {
  TempDir dir;
  WriteShardedModel(dir);
  WriteFile(dir.File("model-00002-of-00002.safetensors"), "short");
  auto store = WeightStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(dir.File("model-00002-of-00002.safetensors")));
}

// The committed golden model directories (tools/make_golden_models.py) open and have the tensors
// their configs imply.
TEST(WeightStore, GoldenModelDirectories) {
  const std::string root = std::string(ATTNSERVE_GOLDEN_DIR) + "/models";
  ASSERT_TRUE(std::filesystem::is_directory(root)) << "no golden models at " << root;
  struct Expect {
    const char* name;
    const char* dtype;
    bool has_lm_head;
    bool has_bias;
    std::vector<int64_t> q_proj_shape;
  };
  for (const Expect& e : std::vector<Expect>{{"llama_gqa", "float32", true, false, {64, 64}},
                                             {"qwen2_bias", "float32", true, true, {64, 64}},
                                             {"llama_tied", "float32", false, false, {128, 64}},
                                             {"mistral_bf16_sharded", "bfloat16", true, false, {64, 64}}}) {
    SCOPED_TRACE(e.name);
    auto store = OpenOrDie(root + "/" + e.name);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->PredominantDType(), e.dtype);
    EXPECT_EQ(store->Has("lm_head.weight"), e.has_lm_head);
    EXPECT_EQ(store->Has("model.layers.0.self_attn.q_proj.bias"), e.has_bias);
    auto embed = store->LoadF32("model.embed_tokens.weight", {512, 64});
    ASSERT_TRUE(embed.ok()) << embed.status();
    EXPECT_TRUE(std::isfinite(embed->data[0]));
    auto q = store->LoadF32("model.layers.1.self_attn.q_proj.weight", e.q_proj_shape);
    EXPECT_TRUE(q.ok()) << q.status();
  }
}

}  // namespace
}  // namespace attnserve

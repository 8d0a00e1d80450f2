// Tests SafetensorsFile parsing and that every kind of corrupt file is rejected with an error that
// names the file and the problem (checked through WeightStore::Open, as the server sees it).
#include "engine/loader/safetensors_file.h"

#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "engine/loader/weight_store.h"
#include "tests/loader/safetensors_test_writer.h"

namespace attnserve {
namespace {

using ::attnserve::testing::F32Bytes;
using ::attnserve::testing::RawSafetensors;
using ::attnserve::testing::SerializeSafetensors;
using ::attnserve::testing::TempDir;
using ::attnserve::testing::WriteFile;
using ::testing::HasSubstr;

TEST(SafetensorsFile, ParsesTensorsAndMetadata) {
  TempDir dir;
  WriteFile(dir.File("a.safetensors"),
            SerializeSafetensors({{"w", "F32", {2, 3}, F32Bytes({1, 2, 3, 4, 5, 6})},
                                  {"b", "BF16", {2}, std::string(4, '\0')},
                                  {"empty", "F16", {0, 4}, ""}},
                                 R"({"format":"pt","n":"1"})"));
  auto file = SafetensorsFile::Open(dir.File("a.safetensors"));
  ASSERT_TRUE(file.ok()) << file.status();
  const auto& tensors = (*file)->tensors();
  ASSERT_EQ(tensors.size(), 3u);
  EXPECT_EQ(tensors[0].name, "b");  // sorted by name
  EXPECT_EQ(tensors[0].dtype, DType::kBF16);
  EXPECT_EQ(tensors[0].nbytes, 4u);
  EXPECT_EQ(tensors[1].name, "empty");
  EXPECT_EQ(tensors[1].nbytes, 0u);
  EXPECT_EQ(tensors[2].name, "w");
  EXPECT_EQ(tensors[2].shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tensors[2].file, dir.File("a.safetensors"));
  EXPECT_EQ(static_cast<const float*>(tensors[2].data)[5], 6.0f);
  EXPECT_EQ((*file)->metadata().at("format"), "pt");
}

TEST(SafetensorsFile, ScalarTensorHasOneElement) {
  TempDir dir;
  WriteFile(dir.File("s.safetensors"), SerializeSafetensors({{"scale", "F32", {}, F32Bytes({2.5f})}}));
  auto file = SafetensorsFile::Open(dir.File("s.safetensors"));
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ((*file)->tensors()[0].nbytes, 4u);
}

struct Corruption {
  const char* label;
  std::string contents;
  const char* problem;  // must appear in the error message
};

void PrintTo(const Corruption& c, std::ostream* os) { *os << c.label; }

std::string Header(const std::string& entry) { return "{\"t\":" + entry + "}"; }

std::vector<Corruption> Corruptions() {
  const std::string eight = F32Bytes({1, 2});  // 8 data bytes
  return {
      {"empty", "", "shorter than the 8-byte"},
      {"five_bytes", "\x01\x02\x03\x04\x05", "shorter than the 8-byte"},
      {"header_len_beyond_file", RawSafetensors("{}", "", 1000), "header length 1000 exceeds"},
      {"header_len_huge", RawSafetensors("{}", "", UINT64_MAX - 3), "exceeds"},
      {"malformed_json", RawSafetensors("{\"t\": {\"dtype\": ", ""), "malformed safetensors header JSON"},
      {"header_not_object", RawSafetensors("[1, 2]", ""), "expected a JSON object"},
      {"entry_not_object", RawSafetensors(Header("3"), ""), "header entry is a number"},
      {"metadata_not_object", RawSafetensors(R"({"__metadata__": 3})", ""), "__metadata__"},
      {"unsupported_dtype",
       RawSafetensors(Header(R"({"dtype":"I64","shape":[1],"data_offsets":[0,8]})"), eight),
       "unsupported dtype \"I64\""},
      {"missing_dtype", RawSafetensors(Header(R"({"shape":[2],"data_offsets":[0,8]})"), eight),
       "\"dtype\""},
      {"missing_shape", RawSafetensors(Header(R"({"dtype":"F32","data_offsets":[0,8]})"), eight),
       "\"shape\""},
      {"negative_dim",
       RawSafetensors(Header(R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})"), eight),
       "not a non-negative integer"},
      {"fractional_dim",
       RawSafetensors(Header(R"({"dtype":"F32","shape":[2.0],"data_offsets":[0,8]})"), eight),
       "not a non-negative integer"},
      {"huge_shape",
       RawSafetensors(
           Header(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]})"), eight),
       "too large"},
      {"missing_offsets", RawSafetensors(Header(R"({"dtype":"F32","shape":[2]})"), eight),
       "data_offsets"},
      {"offsets_wrong_arity",
       RawSafetensors(Header(R"({"dtype":"F32","shape":[2],"data_offsets":[0]})"), eight),
       "data_offsets"},
      {"offsets_past_data",
       RawSafetensors(Header(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16]})"), eight),
       "outside the data region"},
      {"offsets_reversed",
       RawSafetensors(Header(R"({"dtype":"F32","shape":[0],"data_offsets":[8,0]})"), eight),
       "outside the data region"},
      {"size_mismatch",
       RawSafetensors(Header(R"({"dtype":"F32","shape":[3],"data_offsets":[0,8]})"), eight),
       "span 8 bytes but shape [3] of F32 needs 12"},
      {"size_mismatch_half",
       RawSafetensors(Header(R"({"dtype":"BF16","shape":[2,3],"data_offsets":[0,8]})"), eight),
       "needs 12"},
      {"truncated_data",  // a valid header whose data was cut off
       [] {
         std::string full = SerializeSafetensors({{"t", "F32", {4}, F32Bytes({1, 2, 3, 4})}});
         return full.substr(0, full.size() - 4);
       }(),
       "outside the data region"},
  };
}

class CorruptFile : public ::testing::TestWithParam<Corruption> {};

TEST_P(CorruptFile, ErrorNamesFileAndProblem) {
  TempDir dir;
  const std::string path = dir.File("model.safetensors");
  WriteFile(path, GetParam().contents);
  auto file = SafetensorsFile::Open(path);
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr(path));
  EXPECT_THAT(file.status().message(), HasSubstr(GetParam().problem));

  auto store = WeightStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(path));
  EXPECT_THAT(store.status().message(), HasSubstr(GetParam().problem));
}

INSTANTIATE_TEST_SUITE_P(All, CorruptFile, ::testing::ValuesIn(Corruptions()),
                         [](const auto& info) { return std::string(info.param.label); });

TEST(SafetensorsFile, MissingFileIsNotFound) {
  TempDir dir;
  auto file = SafetensorsFile::Open(dir.File("nope.safetensors"));
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(file.status().message(), HasSubstr(dir.File("nope.safetensors")));
}

TEST(SafetensorsFile, UnreadableFileInModelDirNamesIt) {
  TempDir dir;
  const std::string link = dir.File("model.safetensors");
  ASSERT_EQ(::symlink((dir.path() + "/missing-target").c_str(), link.c_str()), 0);
  auto store = WeightStore::Open(dir.path());
  ASSERT_FALSE(store.ok());
  EXPECT_THAT(store.status().message(), HasSubstr(link));
  EXPECT_THAT(store.status().message(), HasSubstr("cannot open"));
}

}  // namespace
}  // namespace attnserve

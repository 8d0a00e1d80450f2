// Error handling: missing files, malformed JSON and unsupported components give errors that name
// the file and the problem.
#include <cstdio>
#include <fstream>
#include <string>

#include "engine/tokenizer/tokenizer.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

using ::testing::HasSubstr;

constexpr char kMinimalBpe[] = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}})";

std::string WithModel(const std::string& field, const std::string& value) {
  return std::string(R"({")") + field + R"(": )" + value +
         R"(, "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}})";
}

TEST(TokenizerErrorsTest, MissingFileNamesThePath) {
  auto tok = Tokenizer::FromFile("/nonexistent/dir/tokenizer.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(std::string(tok.status().message()), HasSubstr("/nonexistent/dir/tokenizer.json"));
}

TEST(TokenizerErrorsTest, MalformedJsonNamesTheFile) {
  std::string path = ::testing::TempDir() + "/malformed_tokenizer.json";
  {
    std::ofstream out(path);
    out << R"({"model": {"type": "BPE", "vocab": {)";
  }
  auto tok = Tokenizer::FromFile(path);
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(std::string(tok.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(tok.status().message()), HasSubstr("malformed JSON"));
  std::remove(path.c_str());
}

TEST(TokenizerErrorsTest, UnsupportedModelTypeNamesTypeAndOrigin) {
  auto tok = Tokenizer::FromJson(R"({"model": {"type": "Unigram", "vocab": [["a", 0.0]]}})", "my/tokenizer.json");
  ASSERT_FALSE(tok.ok());
  EXPECT_THAT(std::string(tok.status().message()), HasSubstr("my/tokenizer.json"));
  EXPECT_THAT(std::string(tok.status().message()), HasSubstr("Unigram"));
}

TEST(TokenizerErrorsTest, UnsupportedComponentsNameTheirType) {
  struct Case {
    std::string field, value, type;
  };
  for (const Case& c : {Case{"normalizer", R"({"type": "Precompiled", "precompiled_charsmap": ""})", "Precompiled"},
                        Case{"pre_tokenizer", R"({"type": "UnicodeScripts"})", "UnicodeScripts"},
                        Case{"decoder", R"({"type": "CTC"})", "CTC"},
                        Case{"post_processor", R"({"type": "Fancy"})", "Fancy"}}) {
    auto tok = Tokenizer::FromJson(WithModel(c.field, c.value), "x.json");
    ASSERT_FALSE(tok.ok()) << c.type;
    EXPECT_THAT(std::string(tok.status().message()), HasSubstr(c.type));
    EXPECT_THAT(std::string(tok.status().message()), HasSubstr("x.json"));
  }
}

TEST(TokenizerErrorsTest, StructuralErrors) {
  for (const char* json : {R"([1, 2])", R"({"normalizer": null})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}})",
                           R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [], "unk_token": "<unk>"}})",
                           R"({"model": {"type": "BPE", "vocab": "oops", "merges": []}})",
                           R"({"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "(unclosed"},
                               "behavior": "Isolated", "invert": false},
                               "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})"}) {
    auto tok = Tokenizer::FromJson(json, "bad.json");
    ASSERT_FALSE(tok.ok()) << json;
    EXPECT_THAT(std::string(tok.status().message()), HasSubstr("bad.json")) << json;
  }
}

TEST(TokenizerErrorsTest, MinimalTokenizerWorks) {
  auto tok = Tokenizer::FromJson(kMinimalBpe, "min.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->Encode("abab", true), (std::vector<int32_t>{2, 2}));
  EXPECT_EQ((*tok)->Encode("abc", true), (std::vector<int32_t>{2}));  // no unk_token: 'c' is dropped
  EXPECT_EQ((*tok)->Decode(std::vector<int32_t>{2, 0, 99}, false), "ab a");  // no decoder: joined by spaces
  EXPECT_EQ((*tok)->vocab_size(), 3);
  EXPECT_FALSE((*tok)->IsSpecial(0));
}

TEST(TokenizerErrorsTest, AddedTokenIdsAreAssignedLikeTheLibrary) {
  // tokenizers ignores the "id" fields: vocabulary contents keep their model id, the others get
  // ids from the model vocabulary size (3 here) upwards, in file order.
  auto tok = Tokenizer::FromJson(R"({
      "added_tokens": [
        {"id": 10, "content": "<x>", "special": true, "normalized": false},
        {"id": 7, "content": "<y>", "special": false, "normalized": false},
        {"id": 9, "content": "b", "special": true, "normalized": false}],
      "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 5}, "merges": []}})",
                                 "ids.json");
  ASSERT_TRUE(tok.ok()) << tok.status();
  EXPECT_EQ((*tok)->Encode("a<x>b<y>", false), (std::vector<int32_t>{0, 3, 1, 4}));
  EXPECT_EQ((*tok)->TokenToId("<y>"), 4);
  EXPECT_TRUE((*tok)->IsSpecial(1));
  EXPECT_TRUE((*tok)->IsSpecial(3));
  EXPECT_FALSE((*tok)->IsSpecial(4));
  EXPECT_EQ((*tok)->vocab_size(), 6);
  EXPECT_EQ((*tok)->Decode(std::vector<int32_t>{0, 3, 1, 4, 5}, true), "a <y> c");
}

TEST(TokenizerErrorsTest, InvalidUtf8InputIsRepaired) {
  auto tok = Tokenizer::FromJson(kMinimalBpe, "min.json");
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ((*tok)->Encode("ab\xFF" "ab", false), (std::vector<int32_t>{2, 2}));
}

}  // namespace
}  // namespace attnserve

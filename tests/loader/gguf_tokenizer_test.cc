// TokenizerFromGguf: every vocab-only GGUF of tests/golden/gguf_vocab (tools/make_gguf_vocab_golden.py)
// encodes and decodes every case exactly as transformers does on the same file; the golden models'
// GGUF files load; the real SmolLM2 GGUF (tests/default_chat_model.h) matches transformers;
// malformed metadata (written here byte by byte) is INVALID_ARGUMENT naming the file and the key.
#include "engine/loader/gguf_tokenizer.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "tests/default_chat_model.h"

namespace attnserve {
namespace {

const std::string kVocabDir = std::string(ATTNSERVE_GOLDEN_DIR) + "/gguf_vocab";

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

std::unique_ptr<Tokenizer> Load(const std::string& path) {
  auto file = GgufFile::Open(path);
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return nullptr;
  auto tok = TokenizerFromGguf(**file);
  EXPECT_TRUE(tok.ok()) << tok.status();
  return tok.ok() ? std::move(*tok) : nullptr;
}

void ExpectCases(const Tokenizer& tok, const nlohmann::json& cases, const std::string& name) {
  ASSERT_FALSE(cases.empty());
  for (const auto& c : cases) {
    const std::string text = c.at("text").get<std::string>();
    const auto ids = c.at("ids").get<std::vector<int32_t>>();
    EXPECT_EQ(tok.Encode(text, true), ids) << name << " text: " << text;
    EXPECT_EQ(tok.Encode(text, false), c.at("ids_no_special").get<std::vector<int32_t>>()) << name << " text: " << text;
    EXPECT_EQ(tok.Decode(ids, false), c.at("decode").get<std::string>()) << name << " text: " << text;
    EXPECT_EQ(tok.Decode(ids, true), c.at("decode_skip").get<std::string>()) << name << " text: " << text;
  }
}

TEST(GgufTokenizer, GoldenVocabsMatchTransformers) {
  const nlohmann::json all = ReadJson(kVocabDir + "/cases.json");
  ASSERT_GE(all.size(), 6u);
  for (const auto& [name, cases] : all.items()) {
    auto tok = Load(kVocabDir + "/" + name);
    ASSERT_NE(tok, nullptr) << name;
    ExpectCases(*tok, cases, name);
  }
}

TEST(GgufTokenizer, SmolLM2MatchesTransformers) {
  const std::string path = testing::DefaultChatModelPath();
  ASSERT_TRUE(std::filesystem::exists(path)) << path << " is missing: run scripts/fetch_default_model.sh";
  const nlohmann::json golden = ReadJson(kVocabDir + "/smollm2_cases.json");
  auto tok = Load(path);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 49152);
  ExpectCases(*tok, golden.at("cases"), "smollm2");
}

TEST(GgufTokenizer, GoldenModelFilesLoad) {
  auto tok = Load(std::string(ATTNSERVE_GOLDEN_DIR) + "/gguf_models/llama_gqa_f32.gguf");
  ASSERT_NE(tok, nullptr);
  const std::vector<int32_t> ids = tok->Encode("Hello world, 123!", false);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(tok->Decode(ids, false), "Hello world, 123!");
}

// A GGUF v3 file with only metadata, written byte by byte.
class MetaWriter {
 public:
  enum : uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kStr = 8, kArr = 9 };
  MetaWriter& Str(const std::string& key, const std::string& v) { Key(key, kStr); S(v); return Count(); }
  MetaWriter& U32(const std::string& key, uint32_t v) { Key(key, kU32); Put(v); return Count(); }
  MetaWriter& Bool(const std::string& key, bool v) { Key(key, kBool); Put<uint8_t>(v); return Count(); }
  MetaWriter& Strs(const std::string& key, const std::vector<std::string>& v) {
    Key(key, kArr); Put<uint32_t>(kStr); Put<uint64_t>(v.size());
    for (const auto& s : v) S(s);
    return Count();
  }
  MetaWriter& I32s(const std::string& key, const std::vector<int32_t>& v) {
    Key(key, kArr); Put<uint32_t>(kI32); Put<uint64_t>(v.size());
    for (int32_t x : v) Put(x);
    return Count();
  }
  std::string Write(const std::string& name) const {
    std::string out = "GGUF";
    auto put = [&](auto v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
    put(uint32_t{3}); put(uint64_t{0}); put(uint64_t{count_});
    out += body_;
    const std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
    std::ofstream(path, std::ios::binary) << out;
    return path;
  }

 private:
  template <class T> void Put(T v) { body_.append(reinterpret_cast<const char*>(&v), sizeof(T)); }
  void S(const std::string& s) { Put<uint64_t>(s.size()); body_ += s; }
  void Key(const std::string& k, uint32_t type) { S(k); Put(type); }
  MetaWriter& Count() { ++count_; return *this; }
  std::string body_;
  uint64_t count_ = 0;
};

bool Skips(const std::string& skip, const std::string& key) {
  for (size_t b = 0; b <= skip.size();) {
    size_t e = skip.find(',', b);
    if (e == std::string::npos) e = skip.size();
    if (skip.compare(b, e - b, key) == 0) return true;
    b = e + 1;
  }
  return false;
}

// A valid tiny gpt2 vocabulary without the keys `skip` names (comma-separated), plus what `extra` writes.
std::string TinyGpt2(const std::string& name, const std::string& skip,
                     const std::function<void(MetaWriter&)>& extra = nullptr) {
  MetaWriter w;
  w.Str("general.architecture", "llama");
  if (!Skips(skip, "model")) w.Str("tokenizer.ggml.model", "gpt2");
  if (!Skips(skip, "pre")) w.Str("tokenizer.ggml.pre", "gpt-2");
  if (!Skips(skip, "tokens")) w.Strs("tokenizer.ggml.tokens", {"a", "b", "ab", "<|end|>"});
  if (!Skips(skip, "token_type")) w.I32s("tokenizer.ggml.token_type", {1, 1, 1, 3});
  if (!Skips(skip, "merges")) w.Strs("tokenizer.ggml.merges", {"a b"});
  if (!Skips(skip, "eos")) w.U32("tokenizer.ggml.eos_token_id", 3);
  if (extra) extra(w);
  return w.Write(name);
}

absl::Status LoadStatus(const std::string& path) {
  auto file = GgufFile::Open(path);
  if (!file.ok()) return file.status();
  auto tok = TokenizerFromGguf(**file);
  return tok.ok() ? absl::OkStatus() : tok.status();
}

void ExpectError(const std::string& path, const std::string& key, const std::string& detail = "") {
  const absl::Status s = LoadStatus(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
  EXPECT_NE(s.message().find(key), std::string::npos) << s;
  EXPECT_NE(s.message().find(detail), std::string::npos) << s;
}

TEST(GgufTokenizer, TinyVocabularyEncodes) {
  const std::string path = TinyGpt2("ok.gguf", "");
  auto tok = Load(path);
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->Encode("abab<|end|>", false), (std::vector<int32_t>{2, 2, 3}));
  EXPECT_EQ(tok->Encode("ab", true), (std::vector<int32_t>{2}));  // gpt2: no BOS unless asked
  EXPECT_TRUE(tok->IsSpecial(3));
}

TEST(GgufTokenizer, Errors) {
  ExpectError(TinyGpt2("no_tokens.gguf", "tokens"), "tokenizer.ggml.tokens");
  ExpectError(TinyGpt2("no_model.gguf", "model"), "tokenizer.ggml.model");
  ExpectError(TinyGpt2("bad_model.gguf", "model", [](MetaWriter& w) { w.Str("tokenizer.ggml.model", "rwkv"); }),
              "tokenizer.ggml.model", "rwkv");
  ExpectError(TinyGpt2("bad_pre.gguf", "pre", [](MetaWriter& w) { w.Str("tokenizer.ggml.pre", "klingon"); }),
              "tokenizer.ggml.pre", "klingon");
  ExpectError(TinyGpt2("no_merges.gguf", "merges"), "tokenizer.ggml.merges");
  ExpectError(TinyGpt2("short_types.gguf", "token_type",
                       [](MetaWriter& w) { w.I32s("tokenizer.ggml.token_type", {1, 1, 1}); }),
              "tokenizer.ggml.token_type", "4");
  ExpectError(TinyGpt2("bos_range.gguf", "", [](MetaWriter& w) { w.U32("tokenizer.ggml.bos_token_id", 4); }),
              "tokenizer.ggml.bos_token_id", "4");
  ExpectError(TinyGpt2("eos_range.gguf", "eos", [](MetaWriter& w) { w.U32("tokenizer.ggml.eos_token_id", 99); }),
              "tokenizer.ggml.eos_token_id", "99");
  ExpectError(TinyGpt2("llama_no_scores.gguf", "model,merges", [](MetaWriter& w) { w.Str("tokenizer.ggml.model", "llama"); }),
              "tokenizer.ggml.scores");
}

}  // namespace
}  // namespace attnserve

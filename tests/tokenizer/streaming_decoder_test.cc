// StreamingDecoder tests: chunks are valid UTF-8 without partial characters, and Push()* + Flush()
// equals Decode(all ids), for byte-level and byte-fallback tokenizers on emoji / CJK text.
#include <string>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "gtest/gtest.h"

namespace attnserve {
namespace {

const std::string kGoldenDir = ATTNSERVE_TOKENIZER_GOLDEN_DIR;

bool IsValidUtf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

class StreamingDecoderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    auto tok = Tokenizer::FromFile(kGoldenDir + "/" + GetParam() + "/tokenizer.json");
    ASSERT_TRUE(tok.ok()) << tok.status();
    tokenizer_ = std::move(*tok);
  }
  std::unique_ptr<Tokenizer> tokenizer_;
};

const char* const kTexts[] = {
    "Emoji 😀😂👍🎉 and family 👨‍👩‍👧‍👦 flag 🏳️‍🌈 wave 👋🏽",
    "日本語のテキストです。你好，世界！안녕하세요",
    "  leading spaces, trailing   ",
    "mixed ASCII and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ☃ ꙮ 𓀀 text",
    "<s>special</s> tokens <|endoftext|> inline",
    "",
};

TEST_P(StreamingDecoderTest, ChunksAreCompleteAndConcatenateToDecode) {
  for (const char* text : kTexts) {
    for (bool add_special : {false, true}) {
      const auto ids = tokenizer_->Encode(text, add_special);
      for (bool skip : {false, true}) {
        StreamingDecoder stream(*tokenizer_, skip);
        std::string all;
        for (int32_t id : ids) {
          std::string chunk = stream.Push(id);
          EXPECT_TRUE(IsValidUtf8(chunk)) << text;
          EXPECT_EQ(chunk.find("\xEF\xBF\xBD"), std::string::npos) << "partial char emitted for " << text;
          all += chunk;
        }
        all += stream.Flush();
        EXPECT_EQ(all, tokenizer_->Decode(ids, skip)) << text;
      }
    }
  }
}

TEST_P(StreamingDecoderTest, EmitsTextBeforeTheEnd) {
  const auto ids = tokenizer_->Encode("Hello world, this is a longer sentence to stream.", false);
  StreamingDecoder stream(*tokenizer_, true);
  size_t emitted_before_last = 0;
  for (size_t i = 0; i + 1 < ids.size(); ++i) emitted_before_last += stream.Push(ids[i]).size();
  EXPECT_GT(emitted_before_last, 10u);
}

TEST_P(StreamingDecoderTest, IncompleteTailIsFlushedAsReplacementChar) {
  // The first bytes of a rare 4-byte character only (byte tokens): Decode gives U+FFFD(s) and
  // Push emits nothing for them.
  auto ids = tokenizer_->Encode("x\U00013000", false);
  ASSERT_GE(ids.size(), 3u);
  ids.pop_back();
  StreamingDecoder stream(*tokenizer_, false);
  std::string pushed;
  for (int32_t id : ids) pushed += stream.Push(id);
  std::string flushed = stream.Flush();
  EXPECT_EQ(pushed + flushed, tokenizer_->Decode(ids, false));
  EXPECT_NE(flushed.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(stream.Flush(), "");
}

TEST_P(StreamingDecoderTest, FlushWithoutIdsIsEmpty) {
  StreamingDecoder stream(*tokenizer_, false);
  EXPECT_EQ(stream.Flush(), "");
}

INSTANTIATE_TEST_SUITE_P(Tokenizers, StreamingDecoderTest,
                         ::testing::Values("gpt2", "llama3", "qwen2", "llama2", "metaspace"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace attnserve

// Fuzz target: tokenizer.json text through Tokenizer::FromJson. Input: the JSON, optionally
// followed by a NUL byte and a text to tokenize (otherwise fixed sample texts). A parsed tokenizer
// then encodes the text with and without special tokens, decodes the ids (skipping special tokens
// or not), streams them through StreamingDecoder, and decodes ids taken from the text's bytes
// (in and out of the vocabulary).
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {
namespace {

constexpr std::string_view kSampleTexts[] = {
    "Hello, world! 123 4567",
    "  leading spaces\tand\ttabs\n\nnew lines  ",
    "caf\xc3\xa9 na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87",
    "<s>special</s><|endoftext|><|im_start|>",
    "\xff\xfe invalid \xc3 utf-8 \x80",
};

size_t Exercise(const Tokenizer& tok, std::string_view text) {
  size_t sum = 0;
  for (bool special : {true, false}) {
    std::vector<int32_t> ids = tok.Encode(text, special);
    sum += ids.size();
    sum += tok.Decode(ids, /*skip_special_tokens=*/true).size();
    sum += tok.Decode(ids, /*skip_special_tokens=*/false).size();
    StreamingDecoder stream(tok, /*skip_special_tokens=*/!special);
    for (int32_t id : ids) sum += stream.Push(id).size();
    sum += stream.Flush().size();
    for (int32_t id : ids) {
      sum += tok.IdToToken(id).size() + (tok.IsSpecial(id) ? 1 : 0);
      if (tok.TokenToId(tok.IdToToken(id))) ++sum;
    }
  }
  // Ids from the text's bytes: 2-byte values (mostly beyond small vocabularies) and single bytes.
  std::vector<int32_t> raw;
  for (size_t i = 0; i + 1 < text.size() && raw.size() < 64; i += 2) {
    raw.push_back(static_cast<int32_t>(static_cast<uint8_t>(text[i])) << 8 | static_cast<uint8_t>(text[i + 1]));
    raw.push_back(static_cast<uint8_t>(text[i]) - 8);
  }
  sum += tok.Decode(raw, false).size() + tok.Decode(raw, true).size();
  StreamingDecoder stream(tok, false);
  for (int32_t id : raw) sum += stream.Push(id).size();
  sum += stream.Flush().size();
  return sum;
}

}  // namespace

int FuzzTokenizerJson(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view json = input.substr(0, nul);
  absl::StatusOr<std::unique_ptr<Tokenizer>> tok = Tokenizer::FromJson(json, "fuzz/tokenizer.json");
  if (!Note("Tokenizer::FromJson", tok)) return 0;
  size_t sum = static_cast<size_t>((*tok)->vocab_size());
  if (nul != std::string_view::npos) {
    sum += Exercise(**tok, input.substr(nul + 1));
  } else {
    for (std::string_view text : kSampleTexts) sum += Exercise(**tok, text);
  }
  volatile size_t keep = sum;
  (void)keep;
  return 0;
}

}  // namespace attnserve::fuzz

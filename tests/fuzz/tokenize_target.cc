// Fuzz target: arbitrary bytes as text through real tokenizers — the golden ones of
// tests/golden/tokenizers (GPT-2, Llama-2, Llama-3, Qwen2, Metaspace, misc: byte-level BPE with the
// GPT-2 / Llama-3 / Qwen2 regexes, SentencePiece-style BPE with byte fallback, normalizers) and the
// served test model's. Each encodes the bytes (with and without special tokens), decodes the ids
// and streams them; the ids must decode without reading outside the vocabulary.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string_view>
#include <vector>

#include "engine/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {
namespace {

const std::vector<std::unique_ptr<Tokenizer>>& GoldenTokenizers() {
  static const auto* all = [] {
    auto* v = new std::vector<std::unique_ptr<Tokenizer>>;
    for (const char* name : {"gpt2", "llama2", "llama3", "qwen2", "metaspace", "misc"}) {
      absl::StatusOr<std::unique_ptr<Tokenizer>> t =
          Tokenizer::FromFile(SourcePath(std::string("tests/golden/tokenizers/") + name + "/tokenizer.json"));
      if (!t.ok()) {
        std::fprintf(stderr, "fuzz fixture tokenizer %s: %s\n", name, t.status().ToString().c_str());
        std::abort();
      }
      v->push_back(*std::move(t));
    }
    return v;
  }();
  return *all;
}

size_t Tokenize(const Tokenizer& tok, std::string_view text) {
  size_t sum = 0;
  for (bool special : {true, false}) {
    std::vector<int32_t> ids = tok.Encode(text, special);
    sum += ids.size() + tok.Decode(ids, !special).size();
    StreamingDecoder stream(tok, !special);
    for (int32_t id : ids) sum += stream.Push(id).size();
    sum += stream.Flush().size();
  }
  return sum;
}

}  // namespace

int FuzzTokenize(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  size_t sum = Tokenize(FixtureTokenizer(), text);
  for (const auto& tok : GoldenTokenizers()) sum += Tokenize(*tok, text);
  volatile size_t keep = sum;
  (void)keep;
  return 0;
}

}  // namespace attnserve::fuzz

// Tokenizer: Hugging Face tokenizer.json (the `tokenizers` library's format) — byte-level BPE with
// GPT-2 / Llama-3 / Qwen2 pre-tokenizer regexes, and SentencePiece-style BPE (Metaspace or
// Prepend/Replace normalizers, byte fallback) as in Llama-2 / Mistral; added and special tokens;
// the post-processor's template (BOS/EOS) when add_special_tokens is true.
// Immutable after loading: every const method is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Parses a tokenizer.json file. Errors name the file and what is wrong/unsupported.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromFile(const std::string& path);
  // Same, from the JSON text; `origin` names it in error messages.
  static absl::StatusOr<std::unique_ptr<Tokenizer>> FromJson(std::string_view json,
                                                             std::string_view origin);

  // Identical ids to tokenizers' `Tokenizer.encode(text, add_special_tokens=...).ids`.
  virtual std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens) const = 0;

  // Identical text to tokenizers' `Tokenizer.decode(ids, skip_special_tokens=...)`.
  // Ids outside the vocabulary are skipped.
  virtual std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens) const = 0;

  // Number of ids: max(id) + 1 over the model vocabulary and added tokens.
  virtual int32_t vocab_size() const = 0;
  virtual std::optional<int32_t> TokenToId(std::string_view token) const = 0;
  // The vocabulary string of an id ("" when unknown).
  virtual std::string IdToToken(int32_t id) const = 0;
  // True for added tokens marked special (e.g. <s>, <|endoftext|>).
  virtual bool IsSpecial(int32_t id) const = 0;
};

// Incremental detokenization for streaming: feed ids one at a time, get back only text that is
// complete, valid UTF-8 and will not change when more ids arrive (handles characters spanning
// several byte-fallback / byte-level tokens and decoders that strip a leading space).
// Concatenating every Push() result and Flush() equals tokenizer.Decode(all_ids, skip_special).
// Not thread-safe; one per sequence. The tokenizer must outlive it.
class StreamingDecoder {
 public:
  StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens);
  std::string Push(int32_t id);
  // Emits whatever is left (incomplete UTF-8 at the end decodes as U+FFFD, like Decode does).
  std::string Flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::vector<int32_t> ids_;
  size_t prefix_offset_ = 0;   // ids_[prefix_offset_..read_offset_) give context for the next text
  size_t read_offset_ = 0;     // ids up to here have been emitted
  size_t emitted_bytes_ = 0;   // bytes of text returned so far (Flush completes Decode(all))
};

}  // namespace attnserve

// Pre-tokenizers of tokenizer.json ("pre_tokenizer"): ByteLevel (GPT-2 regex, add_prefix_space),
// Split (regex/string pattern, behavior, invert), Metaspace (prepend_scheme, split), Digits,
// Whitespace, WhitespaceSplit, Punctuation, BertPreTokenizer, CharDelimiterSplit, Sequence.
// They split the non-added pieces further, as the HF `tokenizers` library does. Immutable;
// thread-safe.
#pragma once

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/tokenizer/piece.h"
#include "nlohmann/json.hpp"

namespace attnserve::tok {

// Metaspace's rule for prepending the replacement (shared with the Metaspace decoder).
enum class PrependScheme { kAlways, kFirst, kNever };
// Reads "prepend_scheme" (or the legacy "add_prefix_space") of a Metaspace JSON object.
absl::StatusOr<PrependScheme> ParsePrependScheme(const nlohmann::json& j);

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits / rewrites every non-added piece in place; drops pieces that become empty.
  virtual void PreTokenize(std::vector<Piece>& pieces) const = 0;
};

// Builds a pre-tokenizer from its JSON object; null JSON gives nullptr. Unsupported types are an
// error naming the type.
absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const nlohmann::json& j);

}  // namespace attnserve::tok

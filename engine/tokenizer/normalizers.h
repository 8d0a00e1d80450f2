// Normalizers of tokenizer.json ("normalizer"): NFC/NFD/NFKC/NFKD, Lowercase, Strip, StripAccents,
// Prepend, Replace (string or regex), ByteLevel, Sequence. Applied to each piece of text between
// added tokens, exactly as the HF `tokenizers` library does. Immutable; thread-safe.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Rewrites valid UTF-8 `text` in place.
  virtual void Normalize(std::string& text) const = 0;
};

// Builds a normalizer from its JSON object; null JSON gives nullptr. Unsupported types are an
// error naming the type.
absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const nlohmann::json& j);

}  // namespace attnserve::tok

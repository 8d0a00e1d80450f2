// Decoders of tokenizer.json ("decoder"): ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip,
// BPEDecoder, WordPiece, Sequence. Each maps the token strings to new strings (tokenizers'
// decode_chain); Decode joins the final strings. Immutable; thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const = 0;
  std::string Decode(std::vector<std::string> tokens) const;
};

// Builds a decoder from its JSON object; null JSON gives nullptr. Unsupported types are an error
// naming the type.
absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const nlohmann::json& j);

}  // namespace attnserve::tok

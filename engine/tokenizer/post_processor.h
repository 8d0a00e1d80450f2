// Post-processors of tokenizer.json ("post_processor"), applied only when add_special_tokens is
// true: TemplateProcessing (the "single" template of SpecialToken / Sequence pieces),
// BertProcessing / RobertaProcessing ([CLS] A [SEP]), ByteLevel (ids unchanged), Sequence.
// Immutable; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve::tok {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Rewrites the ids of a single sequence, adding the special tokens.
  virtual void Process(std::vector<int32_t>& ids) const = 0;
};

// Builds a post-processor from its JSON object; null JSON gives nullptr. Unsupported types are an
// error naming the type.
absl::StatusOr<std::unique_ptr<PostProcessor>> ParsePostProcessor(const nlohmann::json& j);

}  // namespace attnserve::tok

// HfTokenizer: the encode / decode pipelines.
#include "engine/tokenizer/hf_tokenizer.h"

#include <algorithm>

#include "absl/strings/str_join.h"
#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {

HfTokenizer::HfTokenizer(TokenizerParts parts)
    : normalizer_(std::move(parts.normalizer)),
      pre_tokenizer_(std::move(parts.pre_tokenizer)),
      model_(std::move(parts.model)),
      post_processor_(std::move(parts.post_processor)),
      decoder_(std::move(parts.decoder)),
      added_(parts.added_tokens, normalizer_.get(), *model_),
      vocab_size_(std::max(model_->max_id(), added_.max_id()) + 1) {}

std::vector<int32_t> HfTokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  std::string repaired;
  if (!IsValidUtf8(text)) {
    repaired = Utf8Lossy(text);
    text = repaired;
  }
  std::vector<Piece> pieces = added_.ExtractAndNormalize(text, normalizer_.get());
  if (pre_tokenizer_) pre_tokenizer_->PreTokenize(pieces);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (const Piece& p : pieces) {
    if (p.is_added()) {
      ids.push_back(p.added_id);
    } else {
      model_->Tokenize(p.text, ids);
    }
  }
  if (add_special_tokens && post_processor_) post_processor_->Process(ids);
  return ids;
}

std::string HfTokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    const std::string* token = added_.IdToToken(id);
    if (token == nullptr) token = model_->IdToToken(id);
    if (token == nullptr) continue;
    if (skip_special_tokens && added_.IsSpecialContent(*token)) continue;
    tokens.push_back(*token);
  }
  if (decoder_) return decoder_->Decode(std::move(tokens));
  return absl::StrJoin(tokens, " ");
}

std::optional<int32_t> HfTokenizer::TokenToId(std::string_view token) const {
  if (auto id = added_.TokenToId(token)) return id;
  return model_->TokenToId(token);
}

std::string HfTokenizer::IdToToken(int32_t id) const {
  const std::string* token = added_.IdToToken(id);
  if (token == nullptr) token = model_->IdToToken(id);
  return token ? *token : std::string();
}

bool HfTokenizer::IsSpecial(int32_t id) const {
  return added_.IsSpecialId(id);
}

}  // namespace attnserve::tok

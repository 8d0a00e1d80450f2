// StreamingDecoder: vLLM/TGI-style incremental detokenization with prefix/read offsets.
//
//   ids_:  [ ... emitted ... | prefix_offset_ ... read_offset_ | new ids ... ]
//                             \__ context text (already emitted) __/
// Push decodes ids_[prefix_offset_..] and emits the part past the context text, unless it ends
// in U+FFFD (an incomplete UTF-8 sequence that later ids may complete).
#include <string_view>

#include "engine/tokenizer/tokenizer.h"

namespace attnserve {
namespace {

constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD";

bool EndsWithReplacementChar(std::string_view s) {
  return s.size() >= kReplacementChar.size() && s.substr(s.size() - kReplacementChar.size()) == kReplacementChar;
}

}  // namespace

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string StreamingDecoder::Push(int32_t id) {
  ids_.push_back(id);
  std::span<const int32_t> all(ids_);
  std::string prefix_text =
      tokenizer_.Decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_tokens_);
  std::string new_text = tokenizer_.Decode(all.subspan(prefix_offset_), skip_special_tokens_);
  if (new_text.size() > prefix_text.size() && !EndsWithReplacementChar(new_text) &&
      std::string_view(new_text).substr(0, prefix_text.size()) == prefix_text) {
    prefix_offset_ = read_offset_;
    read_offset_ = ids_.size();
    emitted_bytes_ += new_text.size() - prefix_text.size();
    return new_text.substr(prefix_text.size());
  }
  return "";
}

std::string StreamingDecoder::Flush() {
  // Whatever the full decode has past what was emitted (emitted text is always a prefix of it
  // for the decoders tokenizers ships; fall back to the windowed tail otherwise).
  std::string full = tokenizer_.Decode(ids_, skip_special_tokens_);
  std::string tail;
  if (emitted_bytes_ <= full.size()) {
    tail = full.substr(emitted_bytes_);
  } else {
    std::span<const int32_t> all(ids_);
    std::string prefix_text =
        tokenizer_.Decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_tokens_);
    std::string new_text = tokenizer_.Decode(all.subspan(prefix_offset_), skip_special_tokens_);
    if (new_text.size() > prefix_text.size()) tail = new_text.substr(prefix_text.size());
  }
  prefix_offset_ = read_offset_ = ids_.size();
  emitted_bytes_ += tail.size();
  return tail;
}

}  // namespace attnserve

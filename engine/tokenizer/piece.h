// A piece of the input during encoding (tokenizers' PreTokenizedString split): either an added
// token already mapped to its id, or normalized text that pre-tokenizers split further and the
// model finally tokenizes.
#pragma once

#include <cstdint>
#include <string>

namespace attnserve::tok {

struct Piece {
  std::string text;        // normalized / pre-tokenized text (unused for added tokens)
  int32_t added_id = -1;   // >= 0: an added token, already tokenized
  bool at_origin = false;  // starts at byte 0 of the original input (Metaspace prepend "first")

  bool is_added() const { return added_id >= 0; }
};

}  // namespace attnserve::tok

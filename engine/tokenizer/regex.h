// A compiled PCRE2 regex (UTF + UCP, JIT when available) standing in for the Oniguruma regexes the
// HF `tokenizers` library uses for Split / ByteLevel / Replace patterns (\p{L}, (?i:...), (?!\S)).
// Immutable after Compile: FindAll is thread-safe. Copies share the compiled code.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::tok {

class Regex {
 public:
  // Compiles `pattern`; the error names the pattern and PCRE2's message.
  static absl::StatusOr<Regex> Compile(std::string_view pattern);
  // Compiles a regex matching `literal` exactly.
  static absl::StatusOr<Regex> Literal(std::string_view literal);

  // Byte ranges [start, end) of successive matches in valid UTF-8 `text`, with Oniguruma's
  // find_iter rule: an empty match is skipped when it sits right at the end of the previous match.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;

 private:
  struct Code;
  std::shared_ptr<const Code> code_;
};

}  // namespace attnserve::tok

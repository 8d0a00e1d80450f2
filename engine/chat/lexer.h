// Lexer: template source → tokens, as jinja2's lexer does it with the Hugging Face settings
// (trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False): text between tags, the
// `{{ }}` / `{% %}` delimiters and the expression tokens inside them. Comments are dropped;
// `-` / `+` whitespace control and the two trimming settings are applied to the text here.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::chat {

struct Token {
  enum class Kind {
    kText,        // literal template text (value)
    kVarBegin,    // {{
    kVarEnd,      // }}
    kBlockBegin,  // {%
    kBlockEnd,    // %}
    kName,        // identifier or keyword (value)
    kString,      // string literal, escapes already decoded (value)
    kInt,         // integer literal (value: digits, underscores removed)
    kFloat,       // float literal (value)
    kOp,          // operator or punctuation (value: "+", "//", "(", ...)
    kEof,
  };
  Kind kind;
  std::string value;
  int line;  // 1-based line where the token starts
};

// InvalidArgument "<what> at line N" for unterminated tags/strings and unknown characters.
absl::StatusOr<std::vector<Token>> Tokenize(const std::string& source);

}  // namespace attnserve::chat

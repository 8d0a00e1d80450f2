// ReplacePattern: the "Replace" step that tokenizer.json uses both as a normalizer and as a
// decoder — every non-overlapping match of a literal string or a regex, left to right, becomes
// `content`. An empty literal (and no regex) matches nothing.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "engine/tokenizer/regex.h"

namespace attnserve::tok {

struct ReplacePattern {
  std::optional<Regex> regex;
  std::string literal;
  std::string content;

  std::string Apply(const std::string& text) const {
    if (!regex && literal.empty()) return text;
    std::string out;
    size_t prev = 0;
    if (regex) {
      for (auto [start, end] : regex->FindAll(text)) {
        out.append(text, prev, start - prev);
        out.append(content);
        prev = end;
      }
    } else {
      for (size_t at = text.find(literal); at != std::string::npos; at = text.find(literal, prev)) {
        out.append(text, prev, at - prev);
        out.append(content);
        prev = at + literal.size();
      }
    }
    out.append(text, prev, std::string::npos);
    return out;
  }
};

}  // namespace attnserve::tok

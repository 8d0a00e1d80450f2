// Splitting a string by pattern matches, the way `tokenizers`' NormalizedString::split does:
// a pattern yields a cover of the string by (range, is_match) spans, and a SplitDelimiterBehavior
// turns that cover into the kept pieces. Pure functions; thread-safe.
#pragma once

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve::tok {

class Regex;

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

// Parses "Removed" / "Isolated" / "MergedWithPrevious" / "MergedWithNext" / "Contiguous".
absl::StatusOr<SplitBehavior> ParseSplitBehavior(const nlohmann::json& j);

struct Span {
  size_t start;
  size_t end;
  bool is_match;
};

// Cover of `text` by regex matches and the gaps between them ([{0,0,false}] for empty text).
std::vector<Span> RegexSpans(const Regex& regex, std::string_view text);
// Cover of `text` where every code point satisfying `pred` is its own match.
std::vector<Span> CharSpans(std::string_view text, const std::function<bool(char32_t)>& pred);

// Applies `behavior` (after flipping matches when `invert`) and returns the kept byte ranges,
// possibly empty ones (callers drop those).
std::vector<std::pair<size_t, size_t>> ApplySplitBehavior(std::vector<Span> spans,
                                                          SplitBehavior behavior, bool invert);

}  // namespace attnserve::tok

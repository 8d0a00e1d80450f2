// Pattern covers and split behaviors (tokenizers' Pattern::find_matches + NormalizedString::split).
#include "engine/tokenizer/split.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {

absl::StatusOr<SplitBehavior> ParseSplitBehavior(const nlohmann::json& j) {
  std::string s = j.is_string() ? j.get<std::string>() : "";
  if (s == "Removed") return SplitBehavior::kRemoved;
  if (s == "Isolated") return SplitBehavior::kIsolated;
  if (s == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (s == "Contiguous") return SplitBehavior::kContiguous;
  return absl::InvalidArgumentError(absl::StrCat("unsupported split behavior ", j.dump()));
}

std::vector<Span> RegexSpans(const Regex& regex, std::string_view text) {
  if (text.empty()) return {{0, 0, false}};
  std::vector<Span> spans;
  size_t prev = 0;
  for (auto [start, end] : regex.FindAll(text)) {
    if (prev != start) spans.push_back({prev, start, false});
    spans.push_back({start, end, true});
    prev = end;
  }
  if (prev != text.size()) spans.push_back({prev, text.size(), false});
  return spans;
}

std::vector<Span> CharSpans(std::string_view text, const std::function<bool(char32_t)>& pred) {
  if (text.empty()) return {{0, 0, false}};
  std::vector<Span> spans;
  size_t last_offset = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t start = pos;
    char32_t c = NextCodePoint(text, pos);
    if (pred(c)) {
      if (last_offset < start) spans.push_back({last_offset, start, false});
      spans.push_back({start, pos, true});
      last_offset = pos;
    }
  }
  if (last_offset < text.size()) spans.push_back({last_offset, text.size(), false});
  return spans;
}

std::vector<std::pair<size_t, size_t>> ApplySplitBehavior(std::vector<Span> spans,
                                                          SplitBehavior behavior, bool invert) {
  if (invert) {
    for (Span& s : spans) s.is_match = !s.is_match;
  }
  std::vector<std::pair<size_t, size_t>> out;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Span& s : spans) out.emplace_back(s.start, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Span& s : spans) {
        if (!s.is_match) out.emplace_back(s.start, s.end);
      }
      break;
    case SplitBehavior::kContiguous: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.start, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous_match = false;
      for (const Span& s : spans) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().second = s.end;
        } else {
          out.emplace_back(s.start, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous_match = false;
      for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().first = it->start;
        } else {
          out.emplace_back(it->start, it->end);
        }
        previous_match = it->is_match;
      }
      std::reverse(out.begin(), out.end());
      break;
    }
  }
  return out;
}

}  // namespace attnserve::tok

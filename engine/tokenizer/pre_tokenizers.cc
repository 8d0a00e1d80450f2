// Pre-tokenizer implementations and their JSON parsing.
#include "engine/tokenizer/pre_tokenizers.h"

#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/split.h"
#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {
namespace {

constexpr char kGpt2Pattern[] =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Replaces each non-added piece by fn(piece) (a vector of pieces), dropping empty results.
template <typename Fn>
void SplitPieces(std::vector<Piece>& pieces, Fn&& fn) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) {
    if (p.is_added()) {
      out.push_back(std::move(p));
      continue;
    }
    for (Piece& q : fn(p)) {
      if (!q.text.empty()) out.push_back(std::move(q));
    }
  }
  pieces = std::move(out);
}

std::vector<Piece> RangesToPieces(const Piece& p, const std::vector<std::pair<size_t, size_t>>& ranges) {
  std::vector<Piece> out;
  out.reserve(ranges.size());
  for (auto [start, end] : ranges) {
    if (end <= start) continue;
    out.push_back(Piece{p.text.substr(start, end - start), -1, p.at_origin && start == 0});
  }
  return out;
}

class ByteLevelPreTokenizer final : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, std::optional<Regex> regex)
      : add_prefix_space_(add_prefix_space), regex_(std::move(regex)) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitPieces(pieces, [&](Piece& p) {
      if (add_prefix_space_ && (p.text.empty() || p.text[0] != ' ')) p.text.insert(0, " ");
      if (!regex_) return std::vector<Piece>{std::move(p)};
      return RangesToPieces(p, ApplySplitBehavior(RegexSpans(*regex_, p.text), SplitBehavior::kIsolated, false));
    });
    for (Piece& p : pieces) {
      if (p.is_added()) continue;
      std::string mapped;
      mapped.reserve(p.text.size() * 2);
      AppendByteLevel(p.text, mapped);
      p.text = std::move(mapped);
    }
  }

 private:
  bool add_prefix_space_;
  std::optional<Regex> regex_;
};

class SplitPreTokenizer final : public PreTokenizer {
 public:
  SplitPreTokenizer(Regex regex, SplitBehavior behavior, bool invert)
      : regex_(std::move(regex)), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitPieces(pieces, [&](Piece& p) {
      return RangesToPieces(p, ApplySplitBehavior(RegexSpans(regex_, p.text), behavior_, invert_));
    });
  }

 private:
  Regex regex_;
  SplitBehavior behavior_;
  bool invert_;
};

// Splits on code points satisfying a predicate (WhitespaceSplit, Punctuation, Digits, ...).
class CharSplitPreTokenizer final : public PreTokenizer {
 public:
  CharSplitPreTokenizer(std::function<bool(char32_t)> pred, SplitBehavior behavior)
      : pred_(std::move(pred)), behavior_(behavior) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitPieces(pieces, [&](Piece& p) {
      return RangesToPieces(p, ApplySplitBehavior(CharSpans(p.text, pred_), behavior_, false));
    });
  }

 private:
  std::function<bool(char32_t)> pred_;
  SplitBehavior behavior_;
};

// `\w+|[^\w\s]+` with Unicode classes: runs of word characters and runs of other non-space ones.
class WhitespacePreTokenizer final : public PreTokenizer {
 public:
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitPieces(pieces, [&](Piece& p) {
      std::vector<std::pair<size_t, size_t>> ranges;
      int run_kind = 0;  // 0 none, 1 word, 2 other
      for (size_t pos = 0; pos < p.text.size();) {
        size_t start = pos;
        char32_t c = NextCodePoint(p.text, pos);
        int kind = IsWordChar(c) ? 1 : IsWhitespace(c) ? 0 : 2;
        if (kind != 0 && kind == run_kind) {
          ranges.back().second = pos;
        } else if (kind != 0) {
          ranges.emplace_back(start, pos);
        }
        run_kind = kind;
      }
      return RangesToPieces(p, ranges);
    });
  }
};

class MetaspacePreTokenizer final : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    SplitPieces(pieces, [&](Piece& p) {
      std::string text;
      text.reserve(p.text.size() + replacement_.size());
      for (char c : p.text) {
        if (c == ' ') text.append(replacement_); else text.push_back(c);
      }
      bool starts = text.compare(0, replacement_.size(), replacement_) == 0;
      if (!starts && (scheme_ == PrependScheme::kAlways || (scheme_ == PrependScheme::kFirst && p.at_origin))) {
        text.insert(0, replacement_);
      }
      p.text = std::move(text);
      if (!split_) return std::vector<Piece>{std::move(p)};
      char32_t rep_cp = 0;
      size_t pos = 0;
      if (!replacement_.empty()) rep_cp = NextCodePoint(replacement_, pos);
      auto spans = CharSpans(p.text, [rep_cp](char32_t c) { return c == rep_cp; });
      return RangesToPieces(p, ApplySplitBehavior(std::move(spans), SplitBehavior::kMergedWithNext, false));
    });
  }

 private:
  std::string replacement_;
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  void PreTokenize(std::vector<Piece>& pieces) const override {
    for (const auto& p : parts_) p->PreTokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

absl::StatusOr<Regex> ParsePattern(const nlohmann::json& pattern) {
  if (pattern.contains("Regex")) return Regex::Compile(pattern.at("Regex").get<std::string>());
  return Regex::Literal(pattern.at("String").get<std::string>());
}

}  // namespace

absl::StatusOr<PrependScheme> ParsePrependScheme(const nlohmann::json& j) {
  if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string()) {
    std::string s = j["prepend_scheme"].get<std::string>();
    if (s == "always") return PrependScheme::kAlways;
    if (s == "first") return PrependScheme::kFirst;
    if (s == "never") return PrependScheme::kNever;
    return absl::InvalidArgumentError(absl::StrCat("unsupported Metaspace prepend_scheme '", s, "'"));
  }
  if (j.contains("add_prefix_space") && j["add_prefix_space"].is_boolean() && !j["add_prefix_space"].get<bool>()) {
    return PrependScheme::kNever;
  }
  return PrependScheme::kAlways;
}

absl::StatusOr<std::unique_ptr<PreTokenizer>> ParsePreTokenizer(const nlohmann::json& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.value("type", "");
  if (type == "ByteLevel") {
    std::optional<Regex> regex;
    if (j.value("use_regex", true)) {
      auto r = Regex::Compile(kGpt2Pattern);
      if (!r.ok()) return r.status();
      regex = std::move(*r);
    }
    return std::make_unique<ByteLevelPreTokenizer>(j.value("add_prefix_space", true), std::move(regex));
  }
  if (type == "Split") {
    auto regex = ParsePattern(j.at("pattern"));
    if (!regex.ok()) return regex.status();
    auto behavior = ParseSplitBehavior(j.at("behavior"));
    if (!behavior.ok()) return behavior.status();
    return std::make_unique<SplitPreTokenizer>(std::move(*regex), *behavior, j.value("invert", false));
  }
  if (type == "Metaspace") {
    auto scheme = ParsePrependScheme(j);
    if (!scheme.ok()) return scheme.status();
    return std::make_unique<MetaspacePreTokenizer>(j.value("replacement", std::string("\xE2\x96\x81")), *scheme,
                                                   j.value("split", true));
  }
  if (type == "Digits") {
    auto is_digit = [](char32_t c) { return IsNumeric(c); };
    return std::make_unique<CharSplitPreTokenizer>(
        is_digit, j.value("individual_digits", false) ? SplitBehavior::kIsolated : SplitBehavior::kContiguous);
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePreTokenizer>();
  if (type == "WhitespaceSplit") {
    return std::make_unique<CharSplitPreTokenizer>(IsWhitespace, SplitBehavior::kRemoved);
  }
  if (type == "Punctuation") {
    auto behavior = j.contains("behavior") ? ParseSplitBehavior(j["behavior"])
                                           : absl::StatusOr<SplitBehavior>(SplitBehavior::kIsolated);
    if (!behavior.ok()) return behavior.status();
    return std::make_unique<CharSplitPreTokenizer>(IsPunctuation, *behavior);
  }
  if (type == "BertPreTokenizer") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    parts.push_back(std::make_unique<CharSplitPreTokenizer>(IsWhitespace, SplitBehavior::kRemoved));
    parts.push_back(std::make_unique<CharSplitPreTokenizer>(IsPunctuation, SplitBehavior::kIsolated));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "CharDelimiterSplit") {
    std::string d = j.at("delimiter").get<std::string>();
    size_t pos = 0;
    char32_t delim = d.empty() ? 0 : NextCodePoint(d, pos);
    return std::make_unique<CharSplitPreTokenizer>([delim](char32_t c) { return c == delim; },
                                                   SplitBehavior::kRemoved);
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const auto& part : j.at("pretokenizers")) {
      auto p = ParsePreTokenizer(part);
      if (!p.ok()) return p.status();
      if (*p) parts.push_back(std::move(*p));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  return absl::UnimplementedError(absl::StrCat("unsupported pre_tokenizer type '", type, "'"));
}

}  // namespace attnserve::tok

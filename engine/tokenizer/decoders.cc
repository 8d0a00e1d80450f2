// Decoder implementations and their JSON parsing.
#include "engine/tokenizer/decoders.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/pre_tokenizers.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/replace_pattern.h"
#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {

std::string Decoder::Decode(std::vector<std::string> tokens) const {
  return absl::StrJoin(DecodeChain(std::move(tokens)), "");
}

namespace {

constexpr char kReplacementChar[] = "\xEF\xBF\xBD";

// Tokens to bytes through the byte-level alphabet (a token with any other char is kept as its
// UTF-8), then one lossy UTF-8 conversion of everything.
class ByteLevelDecoder final : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::string bytes;
    for (const std::string& t : tokens) {
      size_t mark = bytes.size();
      bool ok = true;
      for (size_t pos = 0; pos < t.size();) {
        auto b = CharToByte(NextCodePoint(t, pos));
        if (!b) {
          ok = false;
          break;
        }
        bytes.push_back(static_cast<char>(*b));
      }
      if (!ok) {
        bytes.resize(mark);
        bytes.append(t);
      }
    }
    return {Utf8Lossy(bytes)};
  }
};

// The replacement char becomes a space, except that the first token loses all of them (unless
// the prepend scheme is "never").
class MetaspaceDecoder final : public Decoder {
 public:
  MetaspaceDecoder(char32_t replacement, bool strip_first) : replacement_(replacement), strip_first_(strip_first) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string out;
      const std::string& t = tokens[i];
      for (size_t pos = 0; pos < t.size();) {
        size_t start = pos;
        if (NextCodePoint(t, pos) == replacement_) {
          if (!(i == 0 && strip_first_)) out.push_back(' ');
        } else {
          out.append(t, start, pos - start);
        }
      }
      tokens[i] = std::move(out);
    }
    return tokens;
  }

 private:
  char32_t replacement_;
  bool strip_first_;
};

class ReplaceDecoder final : public Decoder {
 public:
  ReplaceDecoder(std::optional<Regex> regex, std::string literal, std::string content)
      : pattern_{std::move(regex), std::move(literal), std::move(content)} {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) t = pattern_.Apply(t);
    return tokens;
  }

 private:
  ReplacePattern pattern_;
};

// Parses "<0xAB>" like Rust's u8::from_str_radix(&token[3..5], 16).
std::optional<unsigned char> ParseByteToken(const std::string& t) {
  if (t.size() != 6 || t.compare(0, 3, "<0x") != 0 || t[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  int hi = hex(t[3]), lo = hex(t[4]);
  if (t[3] == '+' && lo >= 0) return static_cast<unsigned char>(lo);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<unsigned char>(hi * 16 + lo);
}

// Runs of <0xAB> tokens become their UTF-8 text, or one U+FFFD per byte when not valid UTF-8.
class ByteFallbackDecoder final : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    std::vector<std::string> out;
    out.reserve(tokens.size());
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (IsValidUtf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementChar);
      }
      pending.clear();
    };
    for (std::string& t : tokens) {
      if (auto b = ParseByteToken(t)) {
        pending.push_back(static_cast<char>(*b));
      } else {
        flush();
        out.push_back(std::move(t));
      }
    }
    flush();
    return out;
  }
};

class FuseDecoder final : public Decoder {
 public:
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    return {absl::StrJoin(tokens, "")};
  }
};

// Removes up to `start` leading and `stop` trailing `content` chars from each token.
class StripDecoder final : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (std::string& t : tokens) {
      std::vector<std::pair<size_t, char32_t>> chars;  // (byte offset, code point)
      for (size_t pos = 0; pos < t.size();) {
        size_t at = pos;
        chars.emplace_back(at, NextCodePoint(t, pos));
      }
      size_t start_cut = 0;
      for (size_t i = 0; i < start_ && i < chars.size(); ++i) {
        if (chars[i].second != content_) break;
        start_cut = i + 1;
      }
      size_t stop_cut = chars.size();
      for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
        size_t index = chars.size() - i - 1;
        if (chars[index].second != content_) break;
        stop_cut = index;
      }
      if (stop_cut <= start_cut) {
        t.clear();
        continue;
      }
      size_t begin = chars[start_cut].first;
      size_t end = stop_cut < chars.size() ? chars[stop_cut].first : t.size();
      t = t.substr(begin, end - begin);
    }
    return tokens;
  }

 private:
  char32_t content_;
  size_t start_, stop_;
};

// BPEDecoder: the end-of-word suffix becomes a space (nothing on the last token).
class BpeSuffixDecoder final : public Decoder {
 public:
  explicit BpeSuffixDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (suffix_.empty()) continue;
      const char* replacement = i + 1 == tokens.size() ? "" : " ";
      std::string& t = tokens[i];
      std::string out;
      size_t prev = 0;
      for (size_t at = t.find(suffix_); at != std::string::npos; at = t.find(suffix_, prev)) {
        out.append(t, prev, at - prev);
        out.append(replacement);
        prev = at + suffix_.size();
      }
      out.append(t, prev, std::string::npos);
      t = std::move(out);
    }
    return tokens;
  }

 private:
  std::string suffix_;
};

// WordPiece: "##" continuation pieces glue to the previous token, others get a leading space.
class WordPieceDecoder final : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (size_t i = 0; i < tokens.size(); ++i) {
      std::string& t = tokens[i];
      if (i != 0) {
        if (!prefix_.empty() && t.compare(0, prefix_.size(), prefix_) == 0) {
          t.erase(0, prefix_.size());
        } else {
          t.insert(0, " ");
        }
      }
      if (cleanup_) t = Cleanup(t);
    }
    return tokens;
  }

 private:
  static std::string Cleanup(std::string s) {
    static const std::pair<const char*, const char*> kRules[] = {
        {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"}, {" n't", "n't"},
        {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
    for (const auto& [from, to] : kRules) {
      std::string out;
      size_t prev = 0, flen = std::char_traits<char>::length(from);
      for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, prev)) {
        out.append(s, prev, at - prev);
        out.append(to);
        prev = at + flen;
      }
      out.append(s, prev, std::string::npos);
      s = std::move(out);
    }
    return s;
  }
  std::string prefix_;
  bool cleanup_;
};

class SequenceDecoder final : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> parts) : parts_(std::move(parts)) {}
  std::vector<std::string> DecodeChain(std::vector<std::string> tokens) const override {
    for (const auto& p : parts_) tokens = p->DecodeChain(std::move(tokens));
    return tokens;
  }

 private:
  std::vector<std::unique_ptr<Decoder>> parts_;
};

char32_t FirstCodePoint(const std::string& s) {
  size_t pos = 0;
  return s.empty() ? 0 : NextCodePoint(s, pos);
}

}  // namespace

absl::StatusOr<std::unique_ptr<Decoder>> ParseDecoder(const nlohmann::json& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.value("type", "");
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "Metaspace") {
    auto scheme = ParsePrependScheme(j);
    if (!scheme.ok()) return scheme.status();
    return std::make_unique<MetaspaceDecoder>(FirstCodePoint(j.value("replacement", std::string("\xE2\x96\x81"))),
                                              *scheme != PrependScheme::kNever);
  }
  if (type == "Replace") {
    const auto& pattern = j.at("pattern");
    std::string content = j.at("content").get<std::string>();
    if (pattern.contains("Regex")) {
      auto regex = Regex::Compile(pattern.at("Regex").get<std::string>());
      if (!regex.ok()) return regex.status();
      return std::make_unique<ReplaceDecoder>(std::move(*regex), "", std::move(content));
    }
    return std::make_unique<ReplaceDecoder>(std::nullopt, pattern.at("String").get<std::string>(),
                                            std::move(content));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    return std::make_unique<StripDecoder>(FirstCodePoint(j.at("content").get<std::string>()),
                                          j.value("start", size_t{0}), j.value("stop", size_t{0}));
  }
  if (type == "BPEDecoder") return std::make_unique<BpeSuffixDecoder>(j.value("suffix", std::string("</w>")));
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(j.value("prefix", std::string("##")), j.value("cleanup", true));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Decoder>> parts;
    for (const auto& part : j.at("decoders")) {
      auto d = ParseDecoder(part);
      if (!d.ok()) return d.status();
      if (*d) parts.push_back(std::move(*d));
    }
    return std::make_unique<SequenceDecoder>(std::move(parts));
  }
  return absl::UnimplementedError(absl::StrCat("unsupported decoder type '", type, "'"));
}

}  // namespace attnserve::tok

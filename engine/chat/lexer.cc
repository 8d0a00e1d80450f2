// Lexer (see lexer.h). Mirrors jinja2.lexer: the root state finds the next `{{`, `{%` or `{#`;
// `{%-` strips all whitespace before a tag, lstrip_blocks strips spaces/tabs between a line start
// and a block or comment tag; `-%}` strips all whitespace after, trim_blocks one newline after.
#include "engine/chat/lexer.h"

#include <cctype>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/chat/py_string.h"

namespace attnserve::chat {
namespace {

absl::Status Error(int line, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(what, " at line ", line));
}

bool IsRegexSpace(char c) {  // Python's \s on ASCII
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string NormalizeNewlines(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else {
      out.push_back(in[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();  // keep_trailing_newline=False
  return out;
}

// Python's "unicode-escape" decoding of a string literal's body (jinja decodes literals so).
absl::StatusOr<std::string> Unescape(std::string_view body, int line) {
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] != '\\' || i + 1 >= body.size()) {
      out.push_back(body[i]);
      continue;
    }
    const char c = body[++i];
    auto hex = [&](int n) -> absl::StatusOr<char32_t> {
      char32_t v = 0;
      for (int k = 0; k < n; ++k) {
        if (i + 1 >= body.size() || !std::isxdigit(static_cast<unsigned char>(body[i + 1]))) {
          return Error(line, "truncated \\x/\\u escape in string literal");
        }
        const char h = body[++i];
        v = v * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
      }
      return v;
    };
    switch (c) {
      case '\n': break;  // line continuation
      case '\\': out.push_back('\\'); break;
      case '\'': out.push_back('\''); break;
      case '"': out.push_back('"'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'v': out.push_back('\v'); break;
      case 'x':
      case 'u':
      case 'U': {
        auto v = hex(c == 'x' ? 2 : c == 'u' ? 4 : 8);
        if (!v.ok()) return v.status();
        py::AppendUtf8(*v, out);
        break;
      }
      case 'N': return Error(line, "unsupported \\N{...} escape in string literal");
      default:
        if (c >= '0' && c <= '7') {
          char32_t v = c - '0';
          for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
            v = v * 8 + (body[++i] - '0');
          }
          py::AppendUtf8(v, out);
        } else {
          out.push_back('\\');
          out.push_back(c);
        }
    }
  }
  return out;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(NormalizeNewlines(source)) {}

  absl::StatusOr<std::vector<Token>> Run() {
    bool line_starting = true;
    while (pos_ < src_.size()) {
      size_t k = pos_;
      while ((k = src_.find('{', k)) != std::string::npos) {
        if (k + 1 < src_.size() && std::strchr("{%#", src_[k + 1]) != nullptr) break;
        ++k;
      }
      if (k == std::string::npos) {
        EmitText(src_.substr(pos_));
        pos_ = src_.size();
        break;
      }
      const char opener = src_[k + 1];
      const char sign = (k + 2 < src_.size() && (src_[k + 2] == '-' || src_[k + 2] == '+')) ? src_[k + 2] : 0;
      std::string text = src_.substr(pos_, k - pos_);
      const int text_line = line_;
      CountLines(pos_, k);
      if (sign == '-') {
        size_t e = text.size();
        while (e > 0 && IsRegexSpace(text[e - 1])) --e;
        text.resize(e);
      } else if (sign != '+' && opener != '{') {  // lstrip_blocks (blocks and comments only)
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
        if (l_pos > 0 || line_starting) {
          bool blank = true;
          for (size_t i = l_pos; i < text.size(); ++i) blank &= text[i] == ' ' || text[i] == '\t';
          if (blank) text.resize(l_pos);
        }
      }
      EmitText(std::move(text), text_line);
      pos_ = k + 2 + (sign ? 1 : 0);
      absl::StatusOr<bool> ended_with_newline =
          opener == '#' ? LexComment() : LexTag(opener == '%');
      if (!ended_with_newline.ok()) return ended_with_newline.status();
      line_starting = *ended_with_newline;
    }
    tokens_.push_back({Token::Kind::kEof, "", line_});
    return std::move(tokens_);
  }

 private:
  void CountLines(size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) line_ += src_[i] == '\n';
  }
  void EmitText(std::string text, int line = -1) {
    if (text.empty()) return;
    tokens_.push_back({Token::Kind::kText, std::move(text), line < 0 ? line_ : line});
  }
  // Consumes `-X}` + whitespace, `+X}` or `X}` + one newline (trim_blocks) at pos_ if present.
  // Returns whether the consumed text ended with a newline; nullopt when no end is here.
  std::optional<bool> TryEnd(char closer) {
    const size_t start = pos_;
    auto at = [&](size_t i, char c) { return i < src_.size() && src_[i] == c; };
    if ((at(pos_, '-') || at(pos_, '+')) && at(pos_ + 1, closer) && at(pos_ + 2, '}')) {
      const bool strip = src_[pos_] == '-';
      pos_ += 3;
      if (strip) while (pos_ < src_.size() && IsRegexSpace(src_[pos_])) ++pos_;
    } else if (at(pos_, closer) && at(pos_ + 1, '}')) {
      pos_ += 2;
      if (closer != '}' && at(pos_, '\n')) ++pos_;  // trim_blocks: blocks and comments
    } else {
      return std::nullopt;
    }
    CountLines(start, pos_);
    return pos_ > start && src_[pos_ - 1] == '\n';
  }

  absl::StatusOr<bool> LexComment() {
    const int start_line = line_;
    size_t k = src_.find("#}", pos_);
    if (k == std::string::npos) return Error(start_line, "missing end of comment tag");
    if (k > pos_ && (src_[k - 1] == '-' || src_[k - 1] == '+')) --k;
    CountLines(pos_, k);
    pos_ = k;
    return *TryEnd('#');
  }

  absl::StatusOr<bool> LexTag(bool block) {
    const int start_line = line_;
    tokens_.push_back({block ? Token::Kind::kBlockBegin : Token::Kind::kVarBegin, "", line_});
    std::string balance;
    while (true) {
      if (balance.empty()) {
        if (auto end = TryEnd(block ? '%' : '}')) {
          tokens_.push_back({block ? Token::Kind::kBlockEnd : Token::Kind::kVarEnd, "", line_});
          return *end;
        }
      }
      if (pos_ >= src_.size()) {
        return Error(start_line, block ? "unexpected end of template, missing '%}'"
                                       : "unexpected end of template, missing '}}'");
      }
      const char c = src_[pos_];
      if (IsRegexSpace(c)) {
        line_ += c == '\n';
        ++pos_;
        continue;
      }
      if (std::isdigit(static_cast<unsigned char>(c))) {
        LexNumber();
        continue;
      }
      if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t e = pos_;
        while (e < src_.size() && (std::isalnum(static_cast<unsigned char>(src_[e])) || src_[e] == '_')) ++e;
        tokens_.push_back({Token::Kind::kName, src_.substr(pos_, e - pos_), line_});
        pos_ = e;
        continue;
      }
      if (c == '\'' || c == '"') {
        if (auto s = LexString(c); !s.ok()) return s;
        continue;
      }
      static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "/", "*", "%",
                                   "~", "[", "]", "(", ")", "{", "}", "<", ">", "=", ".", ":",
                                   "|", ",", ";"};
      bool matched = false;
      for (const char* op : kOps) {
        const size_t n = std::strlen(op);
        if (src_.compare(pos_, n, op) != 0) continue;
        if (n == 1 && std::strchr("([{", op[0])) balance.push_back(op[0]);
        if (n == 1 && std::strchr(")]}", op[0])) {
          const char want = op[0] == ')' ? '(' : op[0] == ']' ? '[' : '{';
          if (balance.empty() || balance.back() != want) {
            return Error(line_, absl::StrCat("unexpected '", op, "'"));
          }
          balance.pop_back();
        }
        tokens_.push_back({Token::Kind::kOp, op, line_});
        pos_ += n;
        matched = true;
        break;
      }
      if (!matched) return Error(line_, absl::StrCat("unexpected character '", std::string(1, c), "'"));
    }
  }

  void LexNumber() {
    auto digits = [&](size_t i) {  // (\d+_)*\d+ starting at i; returns end (i if none)
      size_t e = i;
      while (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) {
        while (e < src_.size() && std::isdigit(static_cast<unsigned char>(src_[e]))) ++e;
        if (e + 1 < src_.size() && src_[e] == '_' && std::isdigit(static_cast<unsigned char>(src_[e + 1]))) ++e;
      }
      return e;
    };
    size_t e = digits(pos_);
    bool is_float = false;
    if (e < src_.size() && src_[e] == '.') {
      const size_t f = digits(e + 1);
      if (f > e + 1) { e = f; is_float = true; }
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t x = e + 1;
      if (x < src_.size() && (src_[x] == '+' || src_[x] == '-')) ++x;
      const size_t f = digits(x);
      if (f > x) { e = f; is_float = true; }
    }
    std::string text;
    for (size_t i = pos_; i < e; ++i) if (src_[i] != '_') text.push_back(src_[i]);
    tokens_.push_back({is_float ? Token::Kind::kFloat : Token::Kind::kInt, text, line_});
    pos_ = e;
  }

  absl::Status LexString(char quote) {
    const int start_line = line_;
    size_t i = pos_ + 1;
    while (i < src_.size() && src_[i] != quote) {
      if (src_[i] == '\\') ++i;
      ++i;
    }
    if (i >= src_.size()) return Error(start_line, "unterminated string literal");
    auto value = Unescape(std::string_view(src_).substr(pos_ + 1, i - pos_ - 1), start_line);
    if (!value.ok()) return value.status();
    tokens_.push_back({Token::Kind::kString, std::move(*value), start_line});
    CountLines(pos_, i + 1);
    pos_ = i + 1;
    return absl::OkStatus();
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  std::vector<Token> tokens_;
};

}  // namespace

absl::StatusOr<std::vector<Token>> Tokenize(const std::string& source) {
  return Lexer(source).Run();
}

}  // namespace attnserve::chat

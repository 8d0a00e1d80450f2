// Python's case mapping (str.upper/lower/capitalize/title, islower/isupper) on UTF-8, for the
// scripts chat content commonly carries in cased letters: ASCII, Latin-1, Latin Extended-A,
// Greek and Cyrillic, with the one-to-many mappings Python applies there (ß → SS, İ → i̇) and
// Greek final sigma. Other code points (and other scripts' letters) map to themselves.
#include <string>

#include "engine/chat/py_string.h"

namespace attnserve::chat::py {
namespace {

// Simple one-to-one upper → lower; 0 when `c` is not an upper-case letter of the covered ranges.
char32_t LowerOf(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return 0;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
  if (c == 0x178) return 0xFF;
  if ((c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) {
    return c % 2 == 0 ? c + 1 : 0;
  }
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return c % 2 == 1 ? c + 1 : 0;
  if (c == 0x386) return 0x3AC;
  if (c >= 0x388 && c <= 0x38A) return c + 37;
  if (c == 0x38C) return 0x3CC;
  if (c == 0x38E || c == 0x38F) return c + 63;
  if (c >= 0x391 && c <= 0x3AB && c != 0x3A2) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F)) {
    return c % 2 == 0 ? c + 1 : 0;
  }
  return 0;
}

// Simple lower → upper; 0 when `c` is not a lower-case letter of the covered ranges.
char32_t UpperOf(char32_t c) {
  if (c >= 'a' && c <= 'z') return c - 32;
  if (c < 0x80) return 0;
  if (c == 0xB5) return 0x39C;
  if (c >= 0xE0 && c <= 0xFE && c != 0xF7) return c - 32;
  if (c == 0xFF) return 0x178;
  if (c == 0x131) return 'I';
  if (c == 0x17F) return 'S';
  if ((c >= 0x101 && c <= 0x12F) || (c >= 0x133 && c <= 0x137) || (c >= 0x14B && c <= 0x177)) {
    return c % 2 == 1 ? c - 1 : 0;
  }
  if ((c >= 0x13A && c <= 0x148) || (c >= 0x17A && c <= 0x17E)) return c % 2 == 0 ? c - 1 : 0;
  if (c == 0x3AC) return 0x386;
  if (c >= 0x3AD && c <= 0x3AF) return c - 37;
  if (c == 0x3CC) return 0x38C;
  if (c == 0x3CD || c == 0x3CE) return c - 63;
  if (c == 0x3C2) return 0x3A3;
  if (c >= 0x3B1 && c <= 0x3CB) return c - 32;
  if (c >= 0x430 && c <= 0x44F) return c - 32;
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  if ((c >= 0x461 && c <= 0x481) || (c >= 0x48B && c <= 0x4BF) || (c >= 0x4D1 && c <= 0x52F)) {
    return c % 2 == 1 ? c - 1 : 0;
  }
  return 0;
}

bool IsUpperChar(char32_t c) { return LowerOf(c) != 0 || c == 0x130; }
bool IsLowerChar(char32_t c) { return UpperOf(c) != 0 || c == 0xDF || c == 0x149; }
bool IsCased(char32_t c) { return IsUpperChar(c) || IsLowerChar(c); }

void AppendUpper(char32_t c, std::u32string& out) {
  if (c == 0xDF) {
    out.append(U"SS");
    return;
  }
  if (c == 0x149) {
    out.append(U"\u02BCN");
    return;
  }
  const char32_t u = UpperOf(c);
  out.push_back(u ? u : c);
}

void AppendTitle(char32_t c, std::u32string& out) {
  if (c == 0xDF) {
    out.append(U"Ss");
    return;
  }
  AppendUpper(c, out);
}

// `i` indexes u; Greek capital sigma lowers to final sigma at the end of a word.
void AppendLower(const std::u32string& u, size_t i, std::u32string& out) {
  const char32_t c = u[i];
  if (c == 0x130) {
    out.append(U"i\u0307");
    return;
  }
  if (c == 0x3A3) {
    const bool after_cased = i > 0 && IsCased(u[i - 1]);
    const bool before_cased = i + 1 < u.size() && IsCased(u[i + 1]);
    out.push_back(after_cased && !before_cased ? 0x3C2 : 0x3C3);
    return;
  }
  const char32_t l = LowerOf(c);
  out.push_back(l ? l : c);
}

}  // namespace

std::string Upper(std::string_view s) {
  const std::u32string u = Decode(s);
  std::u32string out;
  for (char32_t c : u) AppendUpper(c, out);
  return Encode(out);
}

std::string Lower(std::string_view s) {
  const std::u32string u = Decode(s);
  std::u32string out;
  for (size_t i = 0; i < u.size(); ++i) AppendLower(u, i, out);
  return Encode(out);
}

std::string Capitalize(std::string_view s) {
  const std::u32string u = Decode(s);
  std::u32string out;
  for (size_t i = 0; i < u.size(); ++i) {
    if (i == 0) AppendTitle(u[i], out);
    else AppendLower(u, i, out);
  }
  return Encode(out);
}

std::string TitleMethod(std::string_view s) {
  const std::u32string u = Decode(s);
  std::u32string out;
  bool prev_cased = false;
  for (size_t i = 0; i < u.size(); ++i) {
    if (prev_cased) AppendLower(u, i, out);
    else AppendTitle(u[i], out);
    prev_cased = IsCased(u[i]);
  }
  return Encode(out);
}

std::string TitleFilter(std::string_view s) {
  // jinja: "".join(w[0].upper() + w[1:].lower() for w in re.split(r"([-\s({\[<]+)", s) if w)
  const std::u32string u = Decode(s);
  auto is_sep = [](char32_t c) {
    return c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || IsSpace(c);
  };
  std::u32string out;
  size_t word_begin = 0;  // lower-casing sees the word alone (final sigma at its end)
  for (size_t i = 0; i < u.size(); ++i) {
    if (is_sep(u[i])) {  // a separator run is its own piece; the next char starts a word
      out.push_back(u[i]);
      word_begin = i + 1;
      continue;
    }
    if (i == word_begin) {
      AppendUpper(u[i], out);
    } else {
      size_t end = i;
      while (end < u.size() && !is_sep(u[end])) ++end;
      const std::u32string rest = u.substr(word_begin + 1, end - word_begin - 1);
      for (size_t k = 0; k < rest.size(); ++k) AppendLower(rest, k, out);
      i = end - 1;
    }
  }
  return Encode(out);
}

bool IsLower(std::string_view s) {
  bool any_cased = false;
  for (char32_t c : Decode(s)) {
    if (IsUpperChar(c)) return false;
    any_cased |= IsLowerChar(c);
  }
  return any_cased;
}

bool IsUpper(std::string_view s) {
  bool any_cased = false;
  for (char32_t c : Decode(s)) {
    if (IsLowerChar(c)) return false;
    any_cased |= IsUpperChar(c);
  }
  return any_cased;
}

}  // namespace attnserve::chat::py

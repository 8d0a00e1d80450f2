// Unicode helpers for the tokenizer: UTF-8 walking, Rust-compatible lossy UTF-8 repair, the
// character classes the HF `tokenizers` library uses (Rust char::is_whitespace, is_numeric, ...),
// and normalization forms / lowercasing (via ICU). All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace attnserve::tok {

// Length in bytes of the UTF-8 sequence whose lead byte is `lead` (1 for invalid leads).
inline size_t Utf8SeqLen(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Decodes the code point starting at s[pos] (s must be valid UTF-8) and advances pos.
char32_t NextCodePoint(std::string_view s, size_t& pos);
void AppendUtf8(char32_t cp, std::string& out);

// True when `bytes` is valid UTF-8.
bool IsValidUtf8(std::string_view bytes);
// Rust's String::from_utf8_lossy: each maximal invalid subpart becomes one U+FFFD.
std::string Utf8Lossy(std::string_view bytes);

// Character classes, matching Rust's char methods / regex classes as `tokenizers` uses them.
bool IsWhitespace(char32_t c);    // char::is_whitespace, regex \s (White_Space)
bool IsNumeric(char32_t c);       // char::is_numeric (Nd | Nl | No)
bool IsAlphanumeric(char32_t c);  // char::is_alphanumeric
bool IsPunctuation(char32_t c);   // is_ascii_punctuation || general category P*
bool IsWordChar(char32_t c);      // regex \w (Unicode)
bool IsCombiningMark(char32_t c); // Mn | Mc | Me

enum class NormalForm { kNfc, kNfd, kNfkc, kNfkd };
// Unicode normalization of valid UTF-8 text.
std::string Normalize(std::string_view text, NormalForm form);
// Per code point full lowercase mapping (Rust char::to_lowercase; no context-dependent rules).
std::string Lowercase(std::string_view text);

}  // namespace attnserve::tok

// Unicode helpers: UTF-8 walking and repair, character classes and normalization (ICU-backed).
#include "engine/tokenizer/unicode.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

namespace attnserve::tok {

char32_t NextCodePoint(std::string_view s, size_t& pos) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data()) + pos;
  size_t n = Utf8SeqLen(p[0]);
  if (pos + n > s.size()) n = 1;
  char32_t cp;
  switch (n) {
    case 1: cp = p[0]; break;
    case 2: cp = ((p[0] & 0x1F) << 6) | (p[1] & 0x3F); break;
    case 3: cp = ((p[0] & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F); break;
    default:
      cp = ((p[0] & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  }
  pos += n;
  return cp;
}

void AppendUtf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {

// Length of the valid UTF-8 sequence at b[i..n), or -k where k >= 1 is the length of the maximal
// invalid subpart starting there (the Unicode "maximal subpart" rule Rust's lossy decoder uses).
int ValidSeqAt(const unsigned char* b, size_t i, size_t n) {
  unsigned char c = b[i];
  if (c < 0x80) return 1;
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (size_t k = 1; k < len; ++k) {
    if (i + k >= n) return -static_cast<int>(k);
    unsigned char cc = b[i + k];
    unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (cc < l || cc > h) return -static_cast<int>(k);
  }
  return static_cast<int>(len);
}

}  // namespace

bool IsValidUtf8(std::string_view bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (size_t i = 0; i < bytes.size();) {
    if (b[i] < 0x80) { ++i; continue; }
    int r = ValidSeqAt(b, i, bytes.size());
    if (r < 0) return false;
    i += r;
  }
  return true;
}

std::string Utf8Lossy(std::string_view bytes) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  std::string out;
  out.reserve(bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    int r = b[i] < 0x80 ? 1 : ValidSeqAt(b, i, bytes.size());
    if (r > 0) {
      out.append(bytes.substr(i, r));
      i += r;
    } else {
      out.append("\xEF\xBF\xBD");
      i += -r;
    }
  }
  return out;
}

bool IsWhitespace(char32_t c) { return u_hasBinaryProperty(c, UCHAR_WHITE_SPACE); }

bool IsNumeric(char32_t c) {
  return (U_GET_GC_MASK(c) & (U_GC_ND_MASK | U_GC_NL_MASK | U_GC_NO_MASK)) != 0;
}

bool IsAlphanumeric(char32_t c) { return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || IsNumeric(c); }

bool IsPunctuation(char32_t c) {
  if (c < 0x80) return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) ||
                       (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
  return (U_GET_GC_MASK(c) & U_GC_P_MASK) != 0;
}

bool IsWordChar(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  return u_hasBinaryProperty(c, UCHAR_ALPHABETIC) || u_hasBinaryProperty(c, UCHAR_JOIN_CONTROL) ||
         (U_GET_GC_MASK(c) & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0;
}

bool IsCombiningMark(char32_t c) { return (U_GET_GC_MASK(c) & U_GC_M_MASK) != 0; }

std::string Normalize(std::string_view text, NormalForm form) {
  bool ascii = true;
  for (unsigned char ch : text) ascii &= ch < 0x80;
  if (ascii) return std::string(text);
  UErrorCode err = U_ZERO_ERROR;
  const UNormalizer2* norm = nullptr;
  switch (form) {
    case NormalForm::kNfc: norm = unorm2_getNFCInstance(&err); break;
    case NormalForm::kNfd: norm = unorm2_getNFDInstance(&err); break;
    case NormalForm::kNfkc: norm = unorm2_getNFKCInstance(&err); break;
    case NormalForm::kNfkd: norm = unorm2_getNFKDInstance(&err); break;
  }
  if (U_FAILURE(err)) return std::string(text);
  std::vector<UChar> src(text.size() + 1);
  int32_t src_len = 0;
  u_strFromUTF8WithSub(src.data(), static_cast<int32_t>(src.size()), &src_len, text.data(),
                       static_cast<int32_t>(text.size()), 0xFFFD, nullptr, &err);
  if (U_FAILURE(err)) return std::string(text);
  if (unorm2_isNormalized(norm, src.data(), src_len, &err) && U_SUCCESS(err)) return std::string(text);
  err = U_ZERO_ERROR;
  std::vector<UChar> dst(src_len * 4 + 16);
  int32_t dst_len = unorm2_normalize(norm, src.data(), src_len, dst.data(),
                                     static_cast<int32_t>(dst.size()), &err);
  if (err == U_BUFFER_OVERFLOW_ERROR) {
    err = U_ZERO_ERROR;
    dst.resize(dst_len + 1);
    dst_len = unorm2_normalize(norm, src.data(), src_len, dst.data(), static_cast<int32_t>(dst.size()), &err);
  }
  if (U_FAILURE(err)) return std::string(text);
  std::string out(dst_len * 3 + 4, '\0');
  int32_t out_len = 0;
  u_strToUTF8WithSub(out.data(), static_cast<int32_t>(out.size()), &out_len, dst.data(), dst_len,
                     0xFFFD, nullptr, &err);
  if (U_FAILURE(err)) return std::string(text);
  out.resize(out_len);
  return out;
}

std::string Lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    char32_t c = NextCodePoint(text, pos);
    if (c < 0x80) {
      out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    } else if (c == 0x130) {  // the one unconditional multi-code-point lowercase mapping
      out.append("i\xCC\x87");
    } else {
      AppendUtf8(u_tolower(c), out);
    }
  }
  return out;
}

}  // namespace attnserve::tok

// The GPT-2 byte-level alphabet tables.
#include "engine/tokenizer/byte_level.h"

#include <array>

#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {
namespace {

struct Tables {
  std::array<std::string, 256> byte_to_char;
  std::array<int, 324> char_to_byte;  // code points < 324 cover the whole alphabet
  Tables() {
    char_to_byte.fill(-1);
    auto printable = [](int b) {
      return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      int cp = printable(b) ? b : 256 + n++;
      AppendUtf8(static_cast<char32_t>(cp), byte_to_char[b]);
      char_to_byte[cp] = b;
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

}  // namespace

const std::string& ByteToChar(unsigned char byte) { return GetTables().byte_to_char[byte]; }

void AppendByteLevel(std::string_view text, std::string& out) {
  const Tables& t = GetTables();
  for (unsigned char b : text) out.append(t.byte_to_char[b]);
}

std::optional<unsigned char> CharToByte(char32_t cp) {
  if (cp >= 324) return std::nullopt;
  int b = GetTables().char_to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<unsigned char>(b);
}

}  // namespace attnserve::tok

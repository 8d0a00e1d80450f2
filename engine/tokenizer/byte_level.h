// The GPT-2 byte-level alphabet: every byte 0..255 maps to one printable code point (bytes that are
// printable Latin-1 map to themselves, the rest to U+0100 + n). Used by the ByteLevel
// pre-tokenizer/normalizer (bytes -> chars) and decoder (chars -> bytes). Thread-safe, immutable.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace attnserve::tok {

// UTF-8 of the code point that stands for `byte`.
const std::string& ByteToChar(unsigned char byte);
// Appends the byte-level form of every byte of `text` to `out`.
void AppendByteLevel(std::string_view text, std::string& out);
// The byte that code point `cp` stands for, if it is in the alphabet.
std::optional<unsigned char> CharToByte(char32_t cp);

}  // namespace attnserve::tok

// Python str operations on UTF-8 strings, by code point as Python counts them: length, indexing
// and slicing, whitespace (str.isspace), strip/split, case mapping, repr.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace attnserve::chat::py {

// Code points of valid UTF-8 (the interpreter only sees valid UTF-8: JSON input and template text).
std::u32string Decode(std::string_view s);
std::string Encode(std::u32string_view s);
void AppendUtf8(char32_t c, std::string& out);
int64_t Length(std::string_view s);

bool IsSpace(char32_t c);  // Python str.isspace() for one code point

// str.strip/lstrip/rstrip(chars); chars == nullopt strips whitespace.
std::string Strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep, maxsplit) / rsplit; sep == nullopt splits on runs of whitespace.
std::vector<std::string> Split(std::string_view s, const std::optional<std::string>& sep,
                               int64_t maxsplit, bool from_right);
std::string Replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);
// Case mapping (py_case.cc): Python's for ASCII, Latin-1, Latin Extended-A, Greek (with the
// final-sigma rule) and Cyrillic; other code points are left as they are.
std::string Upper(std::string_view s);
std::string Lower(std::string_view s);
std::string Capitalize(std::string_view s);   // str.capitalize
std::string TitleMethod(std::string_view s);  // str.title
std::string TitleFilter(std::string_view s);  // jinja's |title (word starts after -, space, ([{<)
bool IsLower(std::string_view s);             // str.islower
bool IsUpper(std::string_view s);             // str.isupper
// Python repr of a str: quotes chosen as Python does, escapes for \n, \t, \\ and non-printables.
std::string Repr(std::string_view s);
// A JSON string as Python's json.dumps writes it, with the quotes.
std::string JsonQuote(std::string_view s, bool ensure_ascii = false);

}  // namespace attnserve::chat::py

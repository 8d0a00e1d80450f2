// AttentionChoice parsing and formatting (the --attention flag syntax).
#include "engine/attention/attention_choice.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace attnserve {
namespace {

// Every optional integer field with its name, for parsing, listing and formatting alike.
template <typename Choice, typename Fn>
void ForEachIntField(Choice& c, Fn&& fn) {
  fn("window", c.window);
  fn("sink_tokens", c.sink_tokens);
  fn("segment_length", c.segment_length);
  fn("memory_segments", c.memory_segments);
  fn("global_tokens", c.global_tokens);
  fn("block_size", c.block_size);
  fn("window_blocks", c.window_blocks);
  fn("global_blocks", c.global_blocks);
  fn("random_blocks", c.random_blocks);
  fn("top_k_blocks", c.top_k_blocks);
  fn("num_features", c.num_features);
  fn("full_every", c.full_every);
}

// absl::StrSplit into owned strings (this absl's string_view is not std::string_view).
std::vector<std::string> Split(std::string_view s, char sep, bool skip_empty) {
  const std::string text(s);
  if (skip_empty) return absl::StrSplit(text, sep, absl::SkipEmpty());
  return absl::StrSplit(text, sep);
}

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, out);
  return ec == std::errc() && ptr == end && !s.empty();
}

}  // namespace

bool AttentionChoice::empty() const {
  return backend.empty() && SetParameterNames(*this).empty();
}

std::vector<std::string> SetParameterNames(const AttentionChoice& c) {
  std::vector<std::string> names;
  ForEachIntField(c, [&](const char* name, const std::optional<int64_t>& v) {
    if (v) names.push_back(name);
  });
  if (!c.global_positions.empty()) names.push_back("global_positions");
  if (c.seed) names.push_back("seed");
  return names;
}

absl::StatusOr<AttentionChoice> ParseAttentionChoice(std::string_view text) {
  AttentionChoice c;
  const size_t colon = text.find(':');
  c.backend = std::string(text.substr(0, colon));
  if (colon == std::string_view::npos) return c;
  for (const std::string& item_text : Split(text.substr(colon + 1), ',', true)) {
    const std::string_view item = item_text;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("attention parameter \"", item_text, "\" must be key=value"));
    }
    const std::string key(item.substr(0, eq)), value(item.substr(eq + 1));
    bool known = false, ok = true;
    ForEachIntField(c, [&](const char* name, std::optional<int64_t>& field) {
      if (key != name) return;
      known = true;
      int64_t v = 0;
      ok = ParseNumber(value, v);
      field = v;
    });
    if (key == "seed") {
      known = true;
      uint64_t v = 0;
      ok = ParseNumber(value, v);
      c.seed = v;
    } else if (key == "global_positions") {
      known = true;
      for (const std::string& p : Split(value, '+', false)) {
        int64_t v = 0;
        ok = ok && ParseNumber(p, v);
        c.global_positions.push_back(v);
      }
    }
    if (!known) return absl::InvalidArgumentError(absl::StrCat("unknown attention parameter \"", key, "\""));
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("attention parameter ", key, ": \"", value, "\" is not an integer"));
    }
  }
  return c;
}

std::string FormatAttentionChoice(const AttentionChoice& c) {
  std::vector<std::string> items;
  ForEachIntField(c, [&](const char* name, const std::optional<int64_t>& v) {
    if (v) items.push_back(absl::StrCat(name, "=", *v));
  });
  if (!c.global_positions.empty())
    items.push_back(absl::StrCat("global_positions=", absl::StrJoin(c.global_positions, "+")));
  if (c.seed) items.push_back(absl::StrCat("seed=", *c.seed));
  if (items.empty()) return c.backend;
  return absl::StrCat(c.backend, ":", absl::StrJoin(items, ","));
}

}  // namespace attnserve

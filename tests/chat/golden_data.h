// Shared by the chat tests: reading tests/golden/chat_templates (golden.json from
// tools/make_chat_template_golden.py) and rendering a template source with a JSON context.
#pragma once

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/status/statusor.h"
#include "engine/chat/chat_template.h"
#include "nlohmann/json.hpp"

namespace attnserve::chat::testing {

using Json = nlohmann::ordered_json;
inline const std::filesystem::path kGoldenDir = ATTNSERVE_CHAT_GOLDEN_DIR;

inline std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline const Json& Golden() {
  static const Json* golden = new Json(Json::parse(ReadText(kGoldenDir / "golden.json")));
  return *golden;
}

// strftime_now formats the generator's fixed time the way it did (local time = UTC).
inline void UseUtc() {
  setenv("TZ", "UTC", 1);
  tzset();
}

// Parses and renders `source` with every key of `context` as a variable (as jinja2's
// render(**context)); the chat variables keep their defaults unless the context sets them.
inline absl::StatusOr<std::string> RenderWith(const std::string& source, const Json& context,
                                              const RenderLimits& limits = RenderLimits()) {
  absl::StatusOr<ChatTemplate> tmpl = ChatTemplate::Parse(source);
  if (!tmpl.ok()) return tmpl.status();
  ChatRenderInput in;
  in.extra_context = context.is_object() ? context : Json::object();
  in.now_unix_seconds = Golden()["fixed_unix_utc"].get<int64_t>();
  return tmpl->Render(in, limits);
}

// The first place where two renderings differ, for readable failures.
inline std::string FirstDifference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const size_t from = i < 40 ? 0 : i - 40;
  auto quoted = [&](const std::string& s) {
    return Json(s.substr(from, 120)).dump(-1, ' ', false, Json::error_handler_t::replace);
  };
  return "at byte " + std::to_string(i) + ":\n  want " + quoted(want) + "\n  got  " + quoted(got);
}

}  // namespace attnserve::chat::testing

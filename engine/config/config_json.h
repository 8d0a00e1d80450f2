// Small helpers shared by the config.json parsers (model_config.cc, ssm_model_config.cc): typed
// reads of Hugging Face config keys whose errors name the file (`origin`) and the key.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// Upper bounds on sizes read from a config, far above any real model: sizes, counts and
// lengths fit an int32 (products of two stay far from int64 overflow), and the per-layer list
// stays small.
inline constexpr int64_t kMaxConfigInt = std::numeric_limits<int32_t>::max();
inline constexpr int64_t kMaxConfigLayers = 65536;

// Reads a positive integer key (at most kMaxConfigInt); without `fallback` the key must be present.
inline absl::StatusOr<int64_t> PositiveInt(const nlohmann::json& j, const char* key, const std::string& origin,
                                           std::optional<int64_t> fallback) {
  if (!j.contains(key) || j[key].is_null()) {
    if (fallback) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat(origin, ": missing required key \"", key, "\""));
  }
  if (!j[key].is_number_integer() || j[key].get<int64_t>() <= 0 || j[key].get<int64_t>() > kMaxConfigInt) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": \"", key, "\" must be a positive integer up to ",
                                                   kMaxConfigInt, ", got ", j[key].dump()));
  }
  return j[key].get<int64_t>();
}

// The number of layers, before the per-layer list is allocated.
inline absl::Status CheckLayerCount(int64_t layers, const std::string& origin) {
  if (layers > kMaxConfigLayers) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": ", layers, " layers (num_hidden_layers / n_layer) "
                                                   "is more than attnserve accepts (", kMaxConfigLayers, ")"));
  }
  return absl::OkStatus();
}

// Reads an optional boolean key (absent or null: `fallback`); anything but a bool is an error.
inline absl::StatusOr<bool> BoolKey(const nlohmann::json& j, const char* key, const std::string& origin,
                                    bool fallback) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  if (!j[key].is_boolean()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": \"", key, "\" must be true or false, got ", j[key].dump()));
  }
  return j[key].get<bool>();
}

// Status-returning forms that store into `out` (for chains of ATTNSERVE_RETURN_IF_ERROR).
inline absl::Status ReadPositive(const nlohmann::json& j, const char* key, const std::string& origin,
                                 std::optional<int64_t> fallback, int64_t& out) {
  absl::StatusOr<int64_t> v = PositiveInt(j, key, origin, fallback);
  if (!v.ok()) return v.status();
  out = *v;
  return absl::OkStatus();
}
inline absl::Status ReadBool(const nlohmann::json& j, const char* key, const std::string& origin, bool fallback,
                             bool& out) {
  absl::StatusOr<bool> v = BoolKey(j, key, origin, fallback);
  if (!v.ok()) return v.status();
  out = *v;
  return absl::OkStatus();
}

// Python's json module writes float("inf") / nan as the bare tokens Infinity, -Infinity and NaN
// (transformers does so for Mamba-2's time_step_limit), which strict JSON parsers reject. Returns
// `text` with those tokens, outside strings, quoted ("Infinity", "-Infinity", "NaN").
inline std::string QuoteNonFiniteLiterals(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (in_string) {
      out += ch;
      if (ch == '\\' && i + 1 < text.size()) out += text[++i];
      else if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') in_string = true;
    for (const char* token : {"-Infinity", "Infinity", "NaN"}) {
      const size_t n = std::char_traits<char>::length(token);
      if (text.compare(i, n, token) == 0) {
        out += absl::StrCat("\"", token, "\"");
        i += n;
        break;
      }
    }
    if (i < text.size()) out += text[i];
  }
  return out;
}

// A number, one of the strings QuoteNonFiniteLiterals produces, or transformers 5's encoding of
// a non-finite float ({"__float__": "Infinity"}); nullopt otherwise.
inline std::optional<double> NumberOrNonFinite(const nlohmann::json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_object() && v.size() == 1 && v.contains("__float__")) return NumberOrNonFinite(v["__float__"]);
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s == "Infinity") return std::numeric_limits<double>::infinity();
    if (s == "-Infinity") return -std::numeric_limits<double>::infinity();
    if (s == "NaN") return std::numeric_limits<double>::quiet_NaN();
  }
  return std::nullopt;
}

}  // namespace attnserve

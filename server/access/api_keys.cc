// ApiKeys: parsing --api_keys_file and constant-time lookup (see api_keys.h).
#include "server/access/api_keys.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve::server {
namespace {

using Json = nlohmann::json;

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

absl::StatusOr<KeyDigest> ParseHexDigest(const std::string& hex) {
  KeyDigest d{};
  if (hex.size() != 64) return absl::InvalidArgumentError("must be 64 hex digits (a SHA-256)");
  for (size_t i = 0; i < 32; ++i) {
    int byte = 0;
    for (int half = 0; half < 2; ++half) {
      const char c = absl::ascii_tolower(static_cast<unsigned char>(hex[2 * i + half]));
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (v < 0) return absl::InvalidArgumentError("must be 64 hex digits (a SHA-256)");
      byte = byte * 16 + v;
    }
    d[i] = static_cast<unsigned char>(byte);
  }
  return d;
}

}  // namespace

KeyDigest DigestOf(std::string_view key) {
  KeyDigest d{};
  unsigned int n = 0;
  EVP_Digest(key.data(), key.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

ApiKeys ApiKeys::Single(std::string_view key) {
  ApiKeys keys;
  KeyPolicy policy;
  policy.name = "default";
  keys.entries_.push_back({DigestOf(key), std::move(policy)});
  return keys;
}

absl::StatusOr<ApiKeys> ApiKeys::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--api_keys_file ", path, ": cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  return FromJson(text.str(), "--api_keys_file " + path);
}

absl::StatusOr<ApiKeys> ApiKeys::FromJson(std::string_view text, const std::string& origin) {
  Json doc = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(origin, ": not valid JSON"));
  if (!doc.is_object() || !doc.contains("keys") || !doc["keys"].is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": must be an object with a \"keys\" list"));
  }
  for (const auto& [field, value] : doc.items()) {
    if (field != "keys") return absl::InvalidArgumentError(absl::StrCat(origin, ": unknown field \"", field, "\""));
  }
  ApiKeys keys;
  std::set<std::string> names;
  std::set<KeyDigest> digests;
  const Json& list = doc["keys"];
  for (size_t i = 0; i < list.size(); ++i) {
    const Json& e = list[i];
    auto bad = [&](const std::string& field, const std::string& what) {
      return absl::InvalidArgumentError(absl::StrCat(origin, ": keys[", i, "]", field.empty() ? "" : ".",
                                                     field, ": ", what));
    };
    if (!e.is_object()) return bad("", "must be an object");
    Entry entry;
    bool has_key = false;
    for (const auto& [field, value] : e.items()) {
      auto number = [&](double lo, double hi) -> absl::StatusOr<double> {
        if (!value.is_number()) return bad(field, "must be a number");
        const double v = value.get<double>();
        if (!(v >= lo && v <= hi)) return bad(field, absl::StrCat("must be in [", lo, ", ", hi, "]"));
        return v;
      };
      auto count = [&](double hi) -> absl::StatusOr<double> {
        absl::StatusOr<double> v = number(0, hi);
        if (v.ok() && std::floor(*v) != *v) return bad(field, "must be a whole number");
        return v;
      };
      if (field == "name") {
        if (!value.is_string() || !ValidName(value.get<std::string>())) {
          return bad(field, "must be 1-64 characters of [A-Za-z0-9_.-] (it becomes a metric label)");
        }
        entry.policy.name = value.get<std::string>();
      } else if (field == "key") {
        if (!value.is_string() || value.get<std::string>().size() < 8) {
          return bad(field, "must be a string of at least 8 characters");
        }
        if (has_key) return bad(field, "give either key or key_sha256, not both");
        entry.digest = DigestOf(value.get<std::string>());
        has_key = true;
      } else if (field == "key_sha256") {
        if (!value.is_string()) return bad(field, "must be 64 hex digits (a SHA-256)");
        absl::StatusOr<KeyDigest> d = ParseHexDigest(value.get<std::string>());
        if (!d.ok()) return bad(field, std::string(d.status().message()));
        if (has_key) return bad(field, "give either key or key_sha256, not both");
        entry.digest = *d;
        has_key = true;
      } else if (field == "requests_per_minute") {
        absl::StatusOr<double> v = number(0, 1e9);
        if (!v.ok()) return v.status();
        entry.policy.requests_per_minute = *v;
      } else if (field == "burst") {
        absl::StatusOr<double> v = number(1, 1e9);
        if (!v.ok()) return v.status();
        entry.policy.burst = *v;
      } else if (field == "max_concurrent_streams") {
        absl::StatusOr<double> v = count(1e6);
        if (!v.ok()) return v.status();
        entry.policy.max_concurrent_streams = static_cast<int32_t>(*v);
      } else if (field == "max_prompt_tokens" || field == "max_tokens") {
        absl::StatusOr<double> v = count(std::numeric_limits<uint32_t>::max());
        if (!v.ok()) return v.status();
        (field == "max_tokens" ? entry.policy.max_tokens : entry.policy.max_prompt_tokens) =
            static_cast<uint32_t>(*v);
      } else if (field == "disabled") {
        if (!value.is_boolean()) return bad(field, "must be true or false");
        entry.policy.disabled = value.get<bool>();
      } else {
        return bad(field, "unknown field (known: name, key, key_sha256, requests_per_minute, burst, "
                          "max_concurrent_streams, max_prompt_tokens, max_tokens, disabled)");
      }
    }
    if (entry.policy.name.empty()) return bad("name", "is required");
    if (!has_key) return bad("key", "is required (or key_sha256)");
    if (!names.insert(entry.policy.name).second) return bad("name", "\"" + entry.policy.name + "\" is used twice");
    if (!digests.insert(entry.digest).second) return bad("key", "the same key is listed twice");
    if (entry.policy.burst == 0 && entry.policy.requests_per_minute > 0) {
      entry.policy.burst = std::max(1.0, std::ceil(entry.policy.requests_per_minute / 6));
    }
    keys.entries_.push_back(std::move(entry));
  }
  if (keys.entries_.empty()) return absl::InvalidArgumentError(absl::StrCat(origin, ": \"keys\" is empty"));
  return keys;
}

const KeyPolicy* ApiKeys::Find(std::string_view presented_key) const {
  const KeyDigest digest = DigestOf(presented_key);
  const KeyPolicy* found = nullptr;
  for (const Entry& e : entries_) {
    const bool same = CRYPTO_memcmp(e.digest.data(), digest.data(), digest.size()) == 0;
    if (same) found = &e.policy;  // no break: every entry is compared
  }
  return found;
}

}  // namespace attnserve::server

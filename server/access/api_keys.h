// ApiKeys: who may call the daemon — the --api_keys_file table (key → name and limits) or the
// single --api_key. Keys are held only as SHA-256 digests and compared in constant time; names
// (never keys) appear in logs and metric labels.
//
// --api_keys_file is JSON (docs/reliability.md, "Access control and limits"):
//   {"keys": [{"name": "team-a", "key": "sk-...",            // or "key_sha256": "<64 hex>"
//              "requests_per_minute": 120, "burst": 20,       // token bucket; 0 = unlimited
//              "max_concurrent_streams": 8,                   // open Generate/Score calls; 0 = unlimited
//              "max_prompt_tokens": 4096, "max_tokens": 1024, // request caps; 0 = the server's
//              "disabled": false}]}                           // true: PERMISSION_DENIED
// Unknown fields are errors (a misspelt limit must not silently mean "unlimited").
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::server {

// One key's identity and limits. 0 means "no limit of this key's own".
struct KeyPolicy {
  std::string name;                  // [A-Za-z0-9_.-]{1,64}, unique in the table
  double requests_per_minute = 0;    // token-bucket refill; 0 = unlimited
  double burst = 0;                  // bucket size (default: 10 s of refill, at least 1)
  int32_t max_concurrent_streams = 0;
  uint32_t max_prompt_tokens = 0;
  uint32_t max_tokens = 0;
  bool disabled = false;
};

using KeyDigest = std::array<unsigned char, 32>;  // SHA-256

// SHA-256 of `key`.
KeyDigest DigestOf(std::string_view key);

class ApiKeys {
 public:
  ApiKeys() = default;  // no keys: every call is allowed, anonymously

  // Parses --api_keys_file; errors name the file, the entry (keys[i]) and the field.
  static absl::StatusOr<ApiKeys> FromFile(const std::string& path);
  // Parses the file's text (`origin` names it in errors).
  static absl::StatusOr<ApiKeys> FromJson(std::string_view text, const std::string& origin);
  // The single --api_key: one key named "default" without limits.
  static ApiKeys Single(std::string_view key);

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

  // The policy of the key whose digest matches, or null. Compares against every entry without an
  // early exit, so the time taken says nothing about which key (or how much of one) matched.
  const KeyPolicy* Find(std::string_view presented_key) const;

 private:
  struct Entry {
    KeyDigest digest;
    KeyPolicy policy;
  };
  std::vector<Entry> entries_;
};

}  // namespace attnserve::server

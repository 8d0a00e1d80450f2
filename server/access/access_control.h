// AccessControl: one gate for every surface (gRPC and HTTP). It authenticates a call from its
// "authorization: Bearer <key>" value against ApiKeys, charges the key's quotas (KeyQuotas) for
// calls that do work, and gives the caps a request must fit (the server's --max_prompt_tokens /
// --max_tokens_cap combined with the key's own). Health, reflection and /metrics never come here.
//
//   no keys configured      → every call passes as "anonymous" (caps still apply)
//   missing or unknown key  → UNAUTHENTICATED   (reason "unauthenticated")
//   key disabled            → PERMISSION_DENIED (reason "permission_denied")
//   quota spent             → RESOURCE_EXHAUSTED with retry-after ("rate_limited", "concurrency_limited")
//   request over a cap      → INVALID_ARGUMENT naming the field and the cap
// Statuses are Refusals (engine/admission/refusal.h). Thread-safe; Reload may run concurrently
// with calls (SIGHUP).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "absl/status/statusor.h"
#include "server/access/api_keys.h"
#include "server/access/key_quotas.h"

namespace attnserve::server {

// Upper bounds on a request; 0 = none.
struct RequestCaps {
  uint32_t max_prompt_tokens = 0;
  uint32_t max_tokens = 0;
};

// Who is calling, as far as limits and metrics are concerned.
struct Caller {
  std::string name = "anonymous";  // the key's name; a metric label
  RequestCaps caps;                // server caps tightened by the key's
  bool from_key = false;           // false: the server needs no key
  // Which limit set each cap: the key's (true) or the server's flag (false); for messages.
  bool prompt_cap_is_keys = false;
  bool max_tokens_cap_is_keys = false;
};

// A caller admitted to do work, holding its concurrent-call slot until destroyed.
struct Admission {
  Caller caller;
  QuotaLease lease;
};

class AccessControl {
 public:
  struct Options {
    std::string api_key;        // --api_key (one key named "default")
    std::string api_keys_file;  // --api_keys_file (takes precedence over api_key when both)
    RequestCaps server_caps;    // --max_prompt_tokens, --max_tokens_cap
  };

  // Loads the keys file; the error names the file and field.
  static absl::StatusOr<std::unique_ptr<AccessControl>> Create(const Options& options);

  // Whether calls need a key.
  bool requires_key() const;

  // `authorization` is the raw "authorization" metadata/header value ("" when absent).
  // `key_name` (may be null) gets the caller's name for metric labels even when the call is
  // refused: "unknown" when no valid key came.
  absl::StatusOr<Caller> Authenticate(std::string_view authorization, std::string* key_name = nullptr) const;
  // Authenticate, then charge the key's rate and concurrency quotas.
  absl::StatusOr<Admission> AdmitWork(std::string_view authorization, std::string* key_name = nullptr);

  // Re-reads --api_keys_file (SIGHUP). On error the old table stays and the error is returned;
  // quota state carries over for names that stay. No-op without a keys file.
  absl::Status Reload();

  // Open calls of key `name` (tests).
  int32_t OpenCalls(const std::string& name) const { return quotas_.OpenCalls(name); }

 private:
  AccessControl(Options options, std::shared_ptr<const ApiKeys> keys);
  // The key's policy; UNAUTHENTICATED / PERMISSION_DENIED. `keys` keeps the table alive.
  absl::StatusOr<const KeyPolicy*> Find(std::string_view authorization,
                                        std::shared_ptr<const ApiKeys>* keys, std::string* key_name) const;
  Caller CallerOf(const KeyPolicy* policy) const;

  const Options options_;
  mutable std::mutex mu_;
  std::shared_ptr<const ApiKeys> keys_;  // swapped whole on Reload
  KeyQuotas quotas_;
};

// Fits a request to `caps`: a prompt longer than caps.max_prompt_tokens is INVALID_ARGUMENT
// (field "prompt"); *max_tokens over caps.max_tokens is INVALID_ARGUMENT (field "max_tokens") when
// the request asked for it (`max_tokens_given`), else it is lowered to the cap.
absl::Status ApplyCaps(const Caller& caller, size_t prompt_tokens, bool max_tokens_given,
                       uint32_t* max_tokens);

}  // namespace attnserve::server

// AccessControl (see access_control.h).
#include "server/access/access_control.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/admission/refusal.h"

namespace attnserve::server {
namespace {

uint32_t Tighter(uint32_t a, uint32_t b) {
  if (a == 0) return b;
  if (b == 0) return a;
  return a < b ? a : b;
}

}  // namespace

absl::StatusOr<std::unique_ptr<AccessControl>> AccessControl::Create(const Options& options) {
  std::shared_ptr<const ApiKeys> keys;
  if (!options.api_keys_file.empty()) {
    absl::StatusOr<ApiKeys> loaded = ApiKeys::FromFile(options.api_keys_file);
    if (!loaded.ok()) return loaded.status();
    keys = std::make_shared<const ApiKeys>(*std::move(loaded));
  } else if (!options.api_key.empty()) {
    keys = std::make_shared<const ApiKeys>(ApiKeys::Single(options.api_key));
  } else {
    keys = std::make_shared<const ApiKeys>();
  }
  return std::unique_ptr<AccessControl>(new AccessControl(options, std::move(keys)));
}

AccessControl::AccessControl(Options options, std::shared_ptr<const ApiKeys> keys)
    : options_(std::move(options)), keys_(std::move(keys)) {}

bool AccessControl::requires_key() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !keys_->empty();
}

absl::Status AccessControl::Reload() {
  if (options_.api_keys_file.empty()) return absl::OkStatus();
  absl::StatusOr<ApiKeys> loaded = ApiKeys::FromFile(options_.api_keys_file);
  if (!loaded.ok()) return loaded.status();
  auto keys = std::make_shared<const ApiKeys>(*std::move(loaded));
  std::lock_guard<std::mutex> lock(mu_);
  keys_ = std::move(keys);
  return absl::OkStatus();
}

absl::StatusOr<const KeyPolicy*> AccessControl::Find(std::string_view authorization,
                                                     std::shared_ptr<const ApiKeys>* keys,
                                                     std::string* key_name) const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    *keys = keys_;
  }
  std::string ignored;
  if (key_name == nullptr) key_name = &ignored;
  *key_name = "unknown";
  if ((*keys)->empty()) {
    *key_name = "anonymous";
    return nullptr;
  }
  constexpr std::string_view kBearer = "Bearer ";
  if (authorization.empty()) {
    return Refusal(absl::StatusCode::kUnauthenticated,
                   "missing API key: send \"authorization: Bearer <key>\" (gRPC metadata or HTTP "
                   "header) with a key the server was started with (--api_key / --api_keys_file)",
                   "unauthenticated");
  }
  if (authorization.substr(0, kBearer.size()) != kBearer) {
    return Refusal(absl::StatusCode::kUnauthenticated,
                   "the authorization value must be \"Bearer <key>\"", "unauthenticated");
  }
  const KeyPolicy* policy = (*keys)->Find(authorization.substr(kBearer.size()));
  if (policy == nullptr) {
    return Refusal(absl::StatusCode::kUnauthenticated,
                   "wrong API key: it is not one the server was started with (--api_key / "
                   "--api_keys_file)",
                   "unauthenticated");
  }
  *key_name = policy->name;
  if (policy->disabled) {
    return Refusal(absl::StatusCode::kPermissionDenied,
                   absl::StrCat("API key '", policy->name, "' is disabled (--api_keys_file)"),
                   "permission_denied");
  }
  return policy;
}

Caller AccessControl::CallerOf(const KeyPolicy* policy) const {
  Caller c;
  c.caps = options_.server_caps;
  if (policy != nullptr) {
    c.name = policy->name;
    c.from_key = true;
    c.caps.max_prompt_tokens = Tighter(c.caps.max_prompt_tokens, policy->max_prompt_tokens);
    c.caps.max_tokens = Tighter(c.caps.max_tokens, policy->max_tokens);
    c.prompt_cap_is_keys = policy->max_prompt_tokens != 0 && c.caps.max_prompt_tokens == policy->max_prompt_tokens;
    c.max_tokens_cap_is_keys = policy->max_tokens != 0 && c.caps.max_tokens == policy->max_tokens;
  }
  return c;
}

absl::StatusOr<Caller> AccessControl::Authenticate(std::string_view authorization,
                                                   std::string* key_name) const {
  std::shared_ptr<const ApiKeys> keys;
  absl::StatusOr<const KeyPolicy*> policy = Find(authorization, &keys, key_name);
  if (!policy.ok()) return policy.status();
  return CallerOf(*policy);
}

absl::StatusOr<Admission> AccessControl::AdmitWork(std::string_view authorization,
                                                   std::string* key_name) {
  std::shared_ptr<const ApiKeys> keys;
  absl::StatusOr<const KeyPolicy*> policy = Find(authorization, &keys, key_name);
  if (!policy.ok()) return policy.status();
  Admission admission;
  admission.caller = CallerOf(*policy);
  if (*policy != nullptr) {
    absl::StatusOr<QuotaLease> lease = quotas_.Acquire(**policy, KeyQuotas::Clock::now());
    if (!lease.ok()) return lease.status();
    admission.lease = *std::move(lease);
  }
  return admission;
}

absl::Status ApplyCaps(const Caller& caller, size_t prompt_tokens, bool max_tokens_given,
                       uint32_t* max_tokens) {
  auto source = [&](const char* key_field, const char* flag, bool is_keys) {
    return is_keys ? absl::StrFormat("%s of API key '%s' in --api_keys_file", key_field, caller.name)
                   : absl::StrFormat("the server's --%s", flag);
  };
  const RequestCaps& caps = caller.caps;
  if (caps.max_prompt_tokens > 0 && prompt_tokens > caps.max_prompt_tokens) {
    return Refusal(absl::StatusCode::kInvalidArgument,
                   absl::StrFormat("prompt: %d tokens is more than the %d allowed (%s)", prompt_tokens,
                                   caps.max_prompt_tokens,
                                   source("max_prompt_tokens", "max_prompt_tokens", caller.prompt_cap_is_keys)),
                   "prompt_too_long");
  }
  if (caps.max_tokens > 0 && *max_tokens > caps.max_tokens) {
    if (max_tokens_given) {
      return Refusal(absl::StatusCode::kInvalidArgument,
                     absl::StrFormat("max_tokens: %d is more than the %d allowed (%s)", *max_tokens,
                                     caps.max_tokens,
                                     source("max_tokens", "max_tokens_cap", caller.max_tokens_cap_is_keys)),
                     "max_tokens_too_large");
    }
    *max_tokens = caps.max_tokens;
  }
  return absl::OkStatus();
}

}  // namespace attnserve::server

// KeyQuotas: the per-key request rate (token bucket) and concurrent-call quotas of --api_keys_file.
// A call that passes gets a QuotaLease; the call's slot is released when the lease is destroyed
// (when the stream or unary call ends, however it ends). State is kept per key name, so it
// survives a reload of the keys file (SIGHUP) for names that stay.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "server/access/api_keys.h"

namespace attnserve::server {

// Holds one concurrent-call slot of a key; movable, releases on destruction.
class QuotaLease {
 public:
  QuotaLease() = default;
  explicit QuotaLease(std::shared_ptr<std::atomic<int32_t>> open) : open_(std::move(open)) {}
  QuotaLease(QuotaLease&&) = default;
  QuotaLease& operator=(QuotaLease&& other) {
    Release();
    open_ = std::move(other.open_);
    return *this;
  }
  ~QuotaLease() { Release(); }

 private:
  void Release() {
    if (open_) open_->fetch_sub(1);
    open_.reset();
  }
  std::shared_ptr<std::atomic<int32_t>> open_;
};

class KeyQuotas {
 public:
  using Clock = std::chrono::steady_clock;

  // Takes one request from `policy`'s bucket and one concurrent slot. RESOURCE_EXHAUSTED
  // Refusals (engine/admission/refusal.h) with retry-after: reason "rate_limited" (the bucket is
  // empty: retry when one token has refilled) or "concurrency_limited" (all slots are open; the
  // bucket is not charged). Thread-safe.
  absl::StatusOr<QuotaLease> Acquire(const KeyPolicy& policy, Clock::time_point now);

  // Open calls of key `name` (for tests and status).
  int32_t OpenCalls(const std::string& name) const;

 private:
  struct State {
    double tokens = -1;  // < 0: not yet initialised (a full bucket)
    Clock::time_point refilled;
    std::shared_ptr<std::atomic<int32_t>> open = std::make_shared<std::atomic<int32_t>>(0);
  };
  mutable std::mutex mu_;
  std::map<std::string, State> states_;  // by key name
};

}  // namespace attnserve::server

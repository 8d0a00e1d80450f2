// OpenCalls: counts the service's calls that are still in progress (a Generate stream until its
// reactor is done, a Score until the engine has answered), so shutdown can wait for the last
// messages to be written instead of waiting out the whole grace period. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace attnserve::server {

class OpenCalls {
 public:
  // Counts one call from construction to destruction; a copy counts one more.
  class Guard {
   public:
    explicit Guard(OpenCalls& calls) : calls_(&calls) { calls_->Add(+1); }
    Guard(const Guard& other) : Guard(*other.calls_) {}
    Guard& operator=(const Guard&) = delete;
    ~Guard() { calls_->Add(-1); }

   private:
    OpenCalls* calls_;
  };

  Guard Track() { return Guard(*this); }

  int64_t count() const {
    std::lock_guard lock(mu_);
    return count_;
  }

  // Blocks until no call is open or `deadline` passes; returns whether none is open.
  bool WaitForNone(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mu_);
    return none_.wait_until(lock, deadline, [&] { return count_ == 0; });
  }

 private:
  void Add(int64_t delta) {
    std::lock_guard lock(mu_);
    count_ += delta;
    if (count_ == 0) none_.notify_all();
  }

  mutable std::mutex mu_;
  std::condition_variable none_;
  int64_t count_ = 0;
};

}  // namespace attnserve::server

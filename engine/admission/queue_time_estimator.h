// QueueTimeEstimator: how long a request arriving now would wait before its first step, from the
// rate at which waiting requests were recently admitted. Admission control uses it to refuse at
// once (RESOURCE_EXHAUSTED with retry-after) a request whose deadline would pass in the queue,
// instead of queueing work that is bound to fail (docs/reliability.md, "Access control and
// limits").
//
// Model: the last kSamples admissions (first scheduled steps) within kWindow give a rate r
// (admissions per second); a request with `waiting_ahead` requests before it waits about
// (waiting_ahead + 1) / r. With nobody waiting the estimate is 0 (it starts at the next step);
// with too few recent admissions to measure a rate there is no estimate (never refuse on a guess).
// Not thread-safe: the engine calls it under its intake lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace attnserve {

class QueueTimeEstimator {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kSamples = 32;
  static constexpr size_t kMinSamples = 8;
  static constexpr std::chrono::seconds kWindow{60};

  // A waiting request got its first step at `now`.
  void OnAdmitted(Clock::time_point now);

  // Seconds a new request would wait behind `waiting_ahead` others; nullopt when unknown.
  std::optional<double> Estimate(int64_t waiting_ahead, Clock::time_point now) const;

  // Admissions per second over the recent window; nullopt when too few samples.
  std::optional<double> AdmissionRate(Clock::time_point now) const;

 private:
  std::deque<Clock::time_point> admitted_;  // oldest first, at most kSamples
};

}  // namespace attnserve

// QueueTimeEstimator (see queue_time_estimator.h).
#include "engine/admission/queue_time_estimator.h"

namespace attnserve {

void QueueTimeEstimator::OnAdmitted(Clock::time_point now) {
  admitted_.push_back(now);
  while (admitted_.size() > kSamples) admitted_.pop_front();
}

std::optional<double> QueueTimeEstimator::AdmissionRate(Clock::time_point now) const {
  size_t first = 0;
  while (first < admitted_.size() && now - admitted_[first] > kWindow) ++first;
  const size_t n = admitted_.size() - first;
  if (n < kMinSamples) return std::nullopt;
  // n admissions span from the oldest to now: the rate includes the quiet time since the last one,
  // so a stalled engine shows a falling rate rather than its last burst.
  const double span = std::chrono::duration<double>(now - admitted_[first]).count();
  if (span <= 0) return std::nullopt;
  return static_cast<double>(n - 1) / span;
}

std::optional<double> QueueTimeEstimator::Estimate(int64_t waiting_ahead, Clock::time_point now) const {
  if (waiting_ahead <= 0) return 0.0;
  const std::optional<double> rate = AdmissionRate(now);
  if (!rate || *rate <= 0) return std::nullopt;
  return static_cast<double>(waiting_ahead + 1) / *rate;
}

}  // namespace attnserve

// Refusal payloads (see refusal.h).
#include "engine/admission/refusal.h"

#include <cstdlib>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_format.h"

namespace attnserve {
namespace {

constexpr char kReasonUrl[] = "type.attnserve.dev/refusal.reason";
constexpr char kRetryAfterUrl[] = "type.attnserve.dev/refusal.retry_after_s";

}  // namespace

absl::Status Refusal(absl::StatusCode code, std::string_view message, std::string_view reason,
                     std::optional<double> retry_after_s) {
  absl::Status status(code, absl::string_view(message.data(), message.size()));
  status.SetPayload(kReasonUrl, absl::Cord(absl::string_view(reason.data(), reason.size())));
  if (retry_after_s.has_value()) {
    status.SetPayload(kRetryAfterUrl,
                      absl::Cord(absl::StrFormat("%.3f", *retry_after_s < 0 ? 0.0 : *retry_after_s)));
  }
  return status;
}

std::string RefusalReason(const absl::Status& status) {
  auto reason = status.GetPayload(kReasonUrl);
  return reason ? std::string(*reason) : std::string();
}

std::optional<double> RetryAfterSeconds(const absl::Status& status) {
  auto value = status.GetPayload(kRetryAfterUrl);
  if (!value) return std::nullopt;
  return std::strtod(std::string(*value).c_str(), nullptr);
}

}  // namespace attnserve

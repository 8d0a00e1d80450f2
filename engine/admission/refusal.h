// Folder engine/admission/: turning requests away before any work (refusals, queue-time estimates).
// Includes nothing of engine/.
//
// Refusals: the status a request gets when it is turned away before any work (quota, full queue,
// an unmeetable deadline), carrying two machine-readable details beside the message as
// absl::Status payloads, so every surface (gRPC trailers, HTTP headers, metrics) reads them the
// same way:
//   * the reason — a short label for attnserve_requests_rejected_total{reason} (e.g.
//     "rate_limited", "queue_full", "queue_time"); bounded: callers pass literals only;
//   * retry-after — seconds after which the same request may succeed (gRPC: trailing metadata
//     `retry-after` and `grpc-retry-pushback-ms`; HTTP: the Retry-After header).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace attnserve {

// A non-OK status with `code` and `message`, labelled `reason`; `retry_after_s` (>= 0) when a retry
// later can succeed.
absl::Status Refusal(absl::StatusCode code, std::string_view message, std::string_view reason,
                     std::optional<double> retry_after_s = std::nullopt);

// The label Refusal attached, or "" for statuses made elsewhere.
std::string RefusalReason(const absl::Status& status);

// Seconds Refusal attached as retry-after, if any.
std::optional<double> RetryAfterSeconds(const absl::Status& status);

}  // namespace attnserve

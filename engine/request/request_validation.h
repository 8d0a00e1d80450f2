// Request validation: every bad field is reported as INVALID_ARGUMENT naming the field, its
// value and the allowed range, before a request reaches the scheduler.
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "engine/request/request_types.h"

namespace attnserve {

struct ValidationLimits {
  int64_t vocab_size = 0;
  int64_t max_model_len = 0;
};

absl::Status ValidateGenerateSpec(const GenerateSpec& spec, const ValidationLimits& limits);
absl::Status ValidateScoreSpec(const ScoreSpec& spec, const ValidationLimits& limits);

}  // namespace attnserve

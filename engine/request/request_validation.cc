// Request validation implementation.
#include "engine/request/request_validation.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

constexpr uint32_t kMaxTopLogprobs = 20;

absl::Status CheckTokenIds(const std::vector<int32_t>& ids, const char* field,
                           const ValidationLimits& limits) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= limits.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(field, "[", i, "] = ", ids[i],
                                                     " is outside the vocabulary [0, ",
                                                     limits.vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckSampling(const SamplingParams& s, const ValidationLimits& limits) {
  auto bad = [](const char* field, double value, const char* range) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampling.", field, " must be ", range, ", got ", value));
  };
  if (!(s.temperature >= 0.0f) || std::isinf(s.temperature)) return bad("temperature", s.temperature, ">= 0");
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f)) return bad("top_p", s.top_p, "in (0, 1]");
  if (s.top_k < -1) return bad("top_k", s.top_k, "-1 or 0 (disabled) or >= 1");
  if (!(s.min_p >= 0.0f && s.min_p <= 1.0f)) return bad("min_p", s.min_p, "in [0, 1]");
  if (!(s.repetition_penalty > 0.0f) || std::isinf(s.repetition_penalty))
    return bad("repetition_penalty", s.repetition_penalty, "> 0");
  if (!(s.presence_penalty >= -2.0f && s.presence_penalty <= 2.0f))
    return bad("presence_penalty", s.presence_penalty, "in [-2, 2]");
  if (!(s.frequency_penalty >= -2.0f && s.frequency_penalty <= 2.0f))
    return bad("frequency_penalty", s.frequency_penalty, "in [-2, 2]");
  for (const auto& [id, bias] : s.logit_bias) {
    if (id < 0 || id >= limits.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("sampling.logit_bias: token id ", id,
                                                     " is outside the vocabulary [0, ",
                                                     limits.vocab_size, ")"));
    }
    if (!(bias >= -100.0f && bias <= 100.0f)) {
      return absl::InvalidArgumentError(absl::StrCat("sampling.logit_bias[", id,
                                                     "] must be in [-100, 100], got ", bias));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateGenerateSpec(const GenerateSpec& spec, const ValidationLimits& limits) {
  if (spec.prompt_token_ids.empty()) {
    return absl::InvalidArgumentError(
        "prompt is empty: give a non-empty prompt or prompt_token_ids");
  }
  if (absl::Status s = CheckTokenIds(spec.prompt_token_ids, "prompt_token_ids", limits); !s.ok()) return s;
  if (spec.max_tokens == 0) return absl::InvalidArgumentError("max_tokens must be >= 1, got 0");
  const int64_t prompt_len = static_cast<int64_t>(spec.prompt_token_ids.size());
  if (prompt_len + int64_t{spec.max_tokens} > limits.max_model_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        "prompt (", prompt_len, " tokens) + max_tokens (", spec.max_tokens, ") = ",
        prompt_len + spec.max_tokens, " exceeds the maximum context length of ",
        limits.max_model_len, " tokens"));
  }
  if (absl::Status s = CheckSampling(spec.sampling, limits); !s.ok()) return s;
  if (absl::Status s = CheckTokenIds(spec.stop_token_ids, "stop_token_ids", limits); !s.ok()) return s;
  if (spec.top_logprobs > kMaxTopLogprobs) {
    return absl::InvalidArgumentError(absl::StrCat("top_logprobs must be <= ", kMaxTopLogprobs,
                                                   ", got ", spec.top_logprobs));
  }
  return absl::OkStatus();
}

absl::Status ValidateScoreSpec(const ScoreSpec& spec, const ValidationLimits& limits) {
  if (spec.token_ids.empty()) {
    return absl::InvalidArgumentError("token_ids is empty: give a non-empty prompt or token_ids");
  }
  if (absl::Status s = CheckTokenIds(spec.token_ids, "token_ids", limits); !s.ok()) return s;
  if (static_cast<int64_t>(spec.token_ids.size()) > limits.max_model_len) {
    return absl::InvalidArgumentError(absl::StrCat("token_ids has ", spec.token_ids.size(),
                                                   " tokens, beyond the maximum context length of ",
                                                   limits.max_model_len, " tokens"));
  }
  return absl::OkStatus();
}

}  // namespace attnserve

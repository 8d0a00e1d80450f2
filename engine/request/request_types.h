// Folder engine/request/: what a request is — its types, validation, plans (attention + context
// policy) and the observer its lifecycle reports to. Includes config/, context/, attention/.
//
// Internal request/response types shared by server/ and engine/ (no protobuf here: server/
// translates proto <-> these). Plain data.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "engine/attention/attention_choice.h"
#include "engine/context/context_policy.h"

namespace attnserve {

using Clock = std::chrono::steady_clock;

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };
const char* FinishReasonName(FinishReason reason);  // "none", "stop", "length", "cancelled", "error"

// Already validated and defaulted (see ValidateGenerateSpec).
struct SamplingParams {
  float temperature = 1.0f;         // 0 = greedy
  float top_p = 1.0f;               // (0, 1]
  int32_t top_k = 0;                // <= 0: disabled
  float min_p = 0.0f;               // [0, 1]
  std::optional<uint64_t> seed;     // unset: seeded from a random device
  float repetition_penalty = 1.0f;  // > 0; HF/vLLM semantics over prompt + output tokens
  float presence_penalty = 0.0f;    // OpenAI semantics over output tokens
  float frequency_penalty = 0.0f;
  // OpenAI logit_bias: (token id, bias in [-100, 100]) added to the logits before sampling.
  std::vector<std::pair<int32_t, float>> logit_bias;
};

struct GenerateSpec {
  std::string request_id;
  std::vector<int32_t> prompt_token_ids;
  uint32_t max_tokens = 16;
  SamplingParams sampling;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  bool logprobs = false;
  uint32_t top_logprobs = 0;
  int32_t priority = 0;             // lower = earlier
  bool skip_special_tokens = true;
  AttentionChoice attention;        // empty: the deployment default (--attention)
  ContextPolicyChoice context_policy;  // empty: the deployment default (--context_policy)
  Clock::time_point deadline = Clock::time_point::max();
};

struct TopLogprob {
  int32_t token_id;
  float logprob;
};

struct TokenLogprob {
  int32_t token_id;
  float logprob;
  std::vector<TopLogprob> top;      // best first
};

// One streamed message. The last one has finish != kNone (and error set when kError).
struct GenerateDelta {
  std::vector<int32_t> token_ids;
  std::string text;
  std::vector<TokenLogprob> logprobs;   // parallel to token_ids when logprobs were asked
  FinishReason finish = FinishReason::kNone;
  std::string stop_reason;
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
  absl::Status error;               // non-OK only with kError / deadline (DEADLINE_EXCEEDED)
};

struct ScoreSpec {
  std::string request_id;
  std::vector<int32_t> token_ids;
  bool return_logits = false;
  AttentionChoice attention;        // empty: the deployment default (--attention)
  ContextPolicyChoice context_policy;  // empty: the deployment default (--context_policy)
  Clock::time_point deadline = Clock::time_point::max();
};

struct ScoreResult {
  std::vector<float> token_logprobs;  // size num_tokens - 1
  std::vector<float> logits;          // f32 [num_tokens, vocab_size] when asked
  int32_t vocab_size = 0;
};

}  // namespace attnserve

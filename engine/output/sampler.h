// Sampler: turns one sequence's next-token logits into a token, vLLM's order of operations:
//   0. logit_bias (OpenAI: added to the named tokens' logits)
//   1. repetition penalty (prompt + output tokens; HF: divide positive / multiply negative logits)
//   2. presence and frequency penalties (output tokens; OpenAI semantics)
//   3. temperature 0 → greedy argmax (first maximum); else divide by temperature,
//      keep top_k, then top_p (nucleus), then min_p (relative to the max probability),
//      and draw from the renormalised distribution with the sequence's own seeded RNG.
// Logprobs are those of the model's raw distribution (log_softmax of unprocessed logits), as
// vLLM returns by default. One Sampler per sequence; not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <vector>

#include "engine/request/request_types.h"

namespace attnserve {

struct SampleResult {
  int32_t token_id = 0;
  float logprob = 0.0f;              // raw log-probability of token_id
  std::vector<TopLogprob> top;       // the `num_top_logprobs` most likely tokens, best first
};

class Sampler {
 public:
  // `prompt` seeds the repetition-penalty set.
  Sampler(const SamplingParams& params, std::span<const int32_t> prompt);

  // logits f32[vocab_size] (modified in place). Records the token as an output token.
  SampleResult Sample(std::span<float> logits, uint32_t num_top_logprobs, bool want_logprob);

 private:
  void ApplyPenalties(std::span<float> logits) const;
  int32_t Draw(std::span<const float> logits);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<int32_t> seen_tokens_;                 // unique prompt + output tokens
  std::unordered_map<int32_t, int32_t> output_counts_;
  std::vector<std::pair<float, int32_t>> scratch_;
};

// Row-wise log-softmax of logits f32[n] into out f32[n] (double accumulation).
void LogSoftmaxRow(std::span<const float> logits, std::span<float> out);

}  // namespace attnserve

// ActiveRequest: everything the engine thread keeps about one admitted Generate or Score
// request between submission and its final output.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/attention/attention_plan.h"
#include "engine/runtime/engine.h"
#include "engine/output/generation_stream.h"
#include "engine/request/request_types.h"

namespace attnserve {

struct ActiveRequest {
  int64_t seq_id = 0;
  std::string request_id;
  bool is_score = false;
  GenerateSpec generate;                          // when !is_score
  ScoreSpec score;                                // when is_score
  std::shared_ptr<GenerateSink> sink;             // when !is_score
  std::function<void(absl::StatusOr<ScoreResult>)> score_done;  // when is_score
  std::unique_ptr<GenerationStream> stream;       // when !is_score
  std::shared_ptr<const AttentionPlan> attention; // per-layer attention of this request
  std::shared_ptr<const ContextPlan> context;     // its positions (RoPE frequencies) and length limit

  std::vector<int32_t> token_ids;    // prompt + generated so far
  int32_t num_prompt_tokens = 0;
  std::vector<float> score_logits;   // f32[positions computed, vocab_size] (Score)
  bool scheduled = false;            // has left the waiting queue at least once

  Clock::time_point arrival;
  Clock::time_point last_token_time;
  bool has_first_token = false;
  Clock::time_point deadline = Clock::time_point::max();
};

}  // namespace attnserve

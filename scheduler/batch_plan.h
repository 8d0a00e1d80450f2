// BatchPlan: what one engine step computes — for each scheduled sequence, a contiguous chunk of
// its tokens (prefill chunk or a single decode token). Plain data produced by Scheduler::Step()
// and consumed by the engine's executor (design.md §1).
#pragma once

#include <cstdint>
#include <vector>

namespace attnserve {

struct ScheduledChunk {
  int64_t seq_id = 0;
  int32_t start_pos = 0;     // == the sequence's num_computed_tokens before this step
  int32_t num_tokens = 0;    // tokens [start_pos, start_pos + num_tokens) are computed this step
  bool needs_sample = false; // chunk reaches the end of the sequence: sample the next token
  bool all_logits = false;   // return logits for every token of the chunk (Score)
  bool first_chunk = false;  // the sequence's first scheduling (queue time ends here)
};

struct BatchPlan {
  std::vector<ScheduledChunk> chunks;

  bool empty() const { return chunks.empty(); }
  int32_t num_tokens() const {
    int32_t n = 0;
    for (const ScheduledChunk& c : chunks) n += c.num_tokens;
    return n;
  }
};

}  // namespace attnserve

// BatchPlan: what one engine step computes — for each scheduled sequence, a contiguous chunk of
// its tokens (a prefill chunk, a recompute after preemption, or one decode token) and the block
// table that maps its positions to KV blocks. Plain data produced by Scheduler::Step() and
// consumed by the engine's executor (docs/architecture.md, "Request path").
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
  // KV block of each position: position p lives in block_table[p / block_size]; covers at least
  // start_pos + num_tokens positions.
  std::vector<int32_t> block_table;
  int32_t state_slot = -1;   // the sequence's RecurrentState slot (-1: it needs none); the state
                             // restarts from zeros when start_pos == 0
};

struct BatchPlan {
  std::vector<ScheduledChunk> chunks;
  std::vector<int64_t> preempted;  // sequences preempted while planning this step

  bool empty() const { return chunks.empty(); }
  int32_t num_tokens() const {
    int32_t n = 0;
    for (const ScheduledChunk& c : chunks) n += c.num_tokens;
    return n;
  }
};

}  // namespace attnserve

// Scheduler: continuous batching by vLLM's rule — no prefill/decode phases; every sequence's
// num_computed_tokens catches up with its num_tokens under a per-step token budget
// (max_num_batched_tokens, so long prompts are prefilled in chunks) and a cap on running
// sequences (max_num_seqs). Running sequences go first, in admission order; waiting ones are
// admitted by (priority, arrival). KV memory is reserved per sequence at admission for its
// whole length (prompt + max_tokens) against kv_capacity_tokens, so an admitted sequence never
// runs out. Plain data; not thread-safe (owned by the engine thread).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <vector>

#include "scheduler/batch_plan.h"

namespace attnserve {

struct SchedulerConfig {
  int32_t max_num_seqs = 8;
  int32_t max_num_batched_tokens = 1024;
  int64_t kv_capacity_tokens = 1 << 20;  // sum of reservations over running sequences
};

// The scheduler's view of one sequence.
struct SequenceInfo {
  int64_t seq_id = 0;
  int32_t priority = 0;            // lower first
  int32_t num_tokens = 0;          // prompt + generated so far
  int32_t max_total_tokens = 0;    // prompt + max_tokens: reserved at admission
  bool all_logits = false;         // Score request: logits for every token, no sampling
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerConfig& config);

  // Queues a new sequence as waiting. Requires max_total_tokens <= kv_capacity_tokens.
  void Add(const SequenceInfo& info);
  // Plans the next step. Admits waiting sequences when room allows.
  BatchPlan Step();
  // Records that the plan ran: advances num_computed_tokens of each chunk's sequence.
  void OnStepDone(const BatchPlan& plan);
  // A token was sampled and appended to the sequence (num_tokens + 1).
  void AppendToken(int64_t seq_id);
  // Removes a finished or cancelled sequence (waiting or running) and frees its reservation.
  void Remove(int64_t seq_id);

  bool Contains(int64_t seq_id) const { return seqs_.count(seq_id) > 0; }
  int32_t num_computed_tokens(int64_t seq_id) const;
  int64_t num_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t num_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  int64_t reserved_tokens() const { return reserved_tokens_; }
  const SchedulerConfig& config() const { return config_; }

 private:
  struct Entry {
    SequenceInfo info;
    uint64_t arrival = 0;
    int32_t num_computed_tokens = 0;
    bool running = false;
    bool scheduled_once = false;
  };
  // Appends a chunk for `e` using at most `budget` tokens; returns tokens used.
  int32_t ScheduleChunk(Entry& e, int32_t budget, BatchPlan& plan);

  SchedulerConfig config_;
  std::map<int64_t, Entry> seqs_;
  std::vector<int64_t> running_;           // admission order
  std::vector<int64_t> waiting_;           // kept sorted by (priority, arrival)
  uint64_t next_arrival_ = 0;
  int64_t reserved_tokens_ = 0;
};

}  // namespace attnserve

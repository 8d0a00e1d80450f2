// Scheduler: continuous batching by vLLM's rule — no prefill/decode phases; every sequence's
// num_computed_tokens catches up with its num_tokens under a per-step token budget
// (max_num_batched_tokens, so long prompts are prefilled in chunks) and a cap on running
// sequences (max_num_seqs). KV memory is a paged pool (BlockPool): a sequence holds blocks for
// the positions computed so far, allocated step by step.
//
// Order: running sequences first (admission order), then waiting ones by (priority, arrival).
// When a running sequence needs a block and none is free, the running sequence with the lowest
// priority (largest value), latest arrival, is preempted: its blocks are released (full blocks
// stay in the prefix cache) and it goes back to the waiting queue in its original place, to be
// recomputed. A waiting sequence with strictly higher priority than a running one may preempt
// it the same way. At admission, the longest prefix of full blocks already in the prefix cache
// is reused (at least one token is always computed, so the next token has logits).
// Sequences of models with state-space layers also take a RecurrentState slot at admission
// (StateSlotPool; none free: they wait, or preempt a strictly lower-priority sequence) and give
// it back on finish, cancel and preemption; their chunks name the slot (ScheduledChunk::state_slot).
// Plain data; not thread-safe (owned by the engine thread).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scheduler/batch_plan.h"
#include "scheduler/block_pool.h"
#include "scheduler/kv_retention.h"
#include "scheduler/state_slot_pool.h"

namespace attnserve {

struct SchedulerConfig {
  int32_t max_num_seqs = 8;
  int32_t max_num_batched_tokens = 1024;
  int32_t num_blocks = 1024;
  int32_t block_size = 16;
  bool enable_prefix_caching = true;
  int32_t num_state_slots = 0;  // RecurrentState slots for sequences with needs_state_slot
  std::string cache_key;  // seeds the prefix hashes: what else determines cached K/V (model, ...)
};

// The scheduler's view of one sequence.
struct SequenceInfo {
  int64_t seq_id = 0;
  int32_t priority = 0;                         // lower first
  const std::vector<int32_t>* tokens = nullptr; // prompt + generated so far; owned by the caller,
                                                // grows as tokens are sampled; must outlive the entry
  bool all_logits = false;                      // Score: logits for every token, no sampling
  // What its attention needs of KV memory. Bounded sequences (window, sinks, segments) have the
  // blocks no future query can reach released while they run (WindowedKv), so their memory stays
  // bounded however long they get; those block-table entries become -1. Sequences that use no KV
  // (all layers linear) hold no blocks. The cache salt separates prefix-cache entries by attention.
  KvRetention retention;
  // The model keeps a fixed-size recurrent state per sequence (Mamba / Mamba-2 / Jamba layers):
  // the sequence holds a StateSlotPool slot while running.
  bool needs_state_slot = false;
};

// Counters since construction.
struct SchedulerStats {
  int64_t num_preemptions = 0;
  int64_t prefix_queried_tokens = 0;  // tokens looked up at each admission (readmissions too)
  int64_t prefix_hit_tokens = 0;      // of which reused from the cache
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerConfig& config);

  // Queues a new sequence as waiting.
  void Add(const SequenceInfo& info);
  // Plans the next step; admits, preempts and allocates blocks as needed.
  BatchPlan Step();
  // Records that the plan ran: advances num_computed_tokens and registers newly filled blocks
  // in the prefix cache.
  void OnStepDone(const BatchPlan& plan);
  // Removes a finished or cancelled sequence (waiting or running) and releases its blocks.
  void Remove(int64_t seq_id);

  bool Contains(int64_t seq_id) const { return seqs_.count(seq_id) > 0; }
  bool IsRunning(int64_t seq_id) const;
  int32_t num_computed_tokens(int64_t seq_id) const;
  const std::vector<int32_t>& block_table(int64_t seq_id) const;
  int64_t num_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t num_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  // Tokens held in running sequences' blocks (the rest of their blocks' slots is waste).
  int64_t num_tokens_in_blocks() const;
  const BlockPool& block_pool() const { return pool_; }
  const StateSlotPool& state_slots() const { return slots_; }
  const SchedulerStats& stats() const { return stats_; }
  const SchedulerConfig& config() const { return config_; }

 private:
  struct Entry {
    SequenceInfo info;
    uint64_t arrival = 0;
    int32_t num_computed_tokens = 0;
    bool running = false;
    bool scheduled_once = false;
    bool scheduled_this_step = false;
    std::vector<int32_t> blocks;        // block table (-1: released, outside the window)
    std::vector<uint64_t> block_hashes; // hashes of the leading full blocks registered so far
    uint64_t seed_hash = 0;             // prefix-hash seed: cache key + attention salt
    int32_t release_cursor = -1;        // next block that may become unreachable (-1: not started)
    int32_t num_released = 0;           // blocks released as unreachable
    int32_t state_slot = -1;            // RecurrentState slot while running (needs_state_slot)
    int32_t num_tokens() const { return static_cast<int32_t>(info.tokens->size()); }
  };

  bool Before(const Entry& a, const Entry& b) const;  // (priority, arrival) order
  void InsertWaiting(int64_t seq_id);
  // Grows e's block table to cover `num_positions`; false (nothing allocated) if not enough free.
  bool EnsureBlocks(Entry& e, int32_t num_positions);
  void ReleaseBlocks(Entry& e);
  // Releases e's blocks that no future query can reach (bounded attention: window, sinks, segments).
  void ReleaseUnreachable(Entry& e);
  void Preempt(Entry& e, BatchPlan& plan);
  // The running, not-yet-scheduled-this-step sequence that preemption takes first, or null.
  Entry* PreemptionVictim(const Entry* candidate_or_null);
  // Shares the longest cached run of e's full blocks; false when no lookup applies.
  bool ReusePrefix(Entry& e);
  void AppendChunk(Entry& e, int32_t take, BatchPlan& plan);
  uint64_t ParentHash(const Entry& e, size_t block_index) const;

  SchedulerConfig config_;
  BlockPool pool_;
  StateSlotPool slots_;
  std::map<int64_t, Entry> seqs_;
  std::vector<int64_t> running_;           // admission order
  std::vector<int64_t> waiting_;           // kept sorted by (priority, arrival)
  uint64_t next_arrival_ = 0;
  SchedulerStats stats_;
};

}  // namespace attnserve

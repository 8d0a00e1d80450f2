// Scheduler unit tests with a fake executor: scripted arrivals, assertions on BatchPlans, block
// accounting, preemption by recompute and prefix-cache sharing.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <numeric>

namespace attnserve {
namespace {

// Owns the token vectors the scheduler reads and plays the executor: after each step every
// chunk that asks for a sample gets one new token appended.
class Harness {
 public:
  explicit Harness(SchedulerConfig config) : s(config) {}

  void Add(int64_t id, int32_t prompt_len, int32_t priority = 0, int32_t first_token = 1000,
           bool all_logits = false, KvRetention retention = {}, bool needs_state_slot = false) {
    auto& t = tokens[id];
    t = std::make_unique<std::vector<int32_t>>(prompt_len);
    std::iota(t->begin(), t->end(), first_token);
    s.Add({.seq_id = id, .priority = priority, .tokens = t.get(), .all_logits = all_logits,
           .retention = retention, .needs_state_slot = needs_state_slot});
  }
  // A sequence of a state-space model: a RecurrentState slot, no KV, no prefix reuse.
  void AddRecurrent(int64_t id, int32_t prompt_len, int32_t priority = 0) {
    KvRetention r;
    r.uses_kv = false;
    r.reuse_prefix = false;
    Add(id, prompt_len, priority, 1000, false, r, true);
  }
  BatchPlan Step() {
    BatchPlan plan = s.Step();
    s.OnStepDone(plan);
    for (const ScheduledChunk& c : plan.chunks)
      if (c.needs_sample) tokens[c.seq_id]->push_back(7);
    return plan;
  }
  const ScheduledChunk* ChunkOf(const BatchPlan& p, int64_t id) {
    for (const ScheduledChunk& c : p.chunks)
      if (c.seq_id == id) return &c;
    return nullptr;
  }

  Scheduler s;
  std::map<int64_t, std::unique_ptr<std::vector<int32_t>>> tokens;
};

SchedulerConfig Config(int32_t seqs, int32_t budget, int32_t blocks, int32_t block_size = 4) {
  return {.max_num_seqs = seqs, .max_num_batched_tokens = budget, .num_blocks = blocks,
          .block_size = block_size, .enable_prefix_caching = true, .cache_key = "test"};
}

TEST(SchedulerTest, ChunkedPrefillThenDecodeWithBlocksGrowingStepByStep) {
  Harness h(Config(4, 8, 100));
  h.Add(1, 20);
  BatchPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].start_pos, 0);
  EXPECT_EQ(p.chunks[0].num_tokens, 8);
  EXPECT_FALSE(p.chunks[0].needs_sample);
  EXPECT_TRUE(p.chunks[0].first_chunk);
  EXPECT_EQ(p.chunks[0].block_table.size(), 2u);  // 8 positions / 4
  EXPECT_EQ(h.s.block_pool().num_used(), 2);
  p = h.Step();
  EXPECT_EQ(p.chunks[0].start_pos, 8);
  EXPECT_FALSE(p.chunks[0].first_chunk);
  p = h.Step();
  EXPECT_EQ(p.chunks[0].start_pos, 16);
  EXPECT_EQ(p.chunks[0].num_tokens, 4);
  EXPECT_TRUE(p.chunks[0].needs_sample);
  p = h.Step();  // decode of the sampled token at position 20: a 6th block
  EXPECT_EQ(p.chunks[0].start_pos, 20);
  EXPECT_EQ(p.chunks[0].num_tokens, 1);
  EXPECT_EQ(p.chunks[0].block_table.size(), 6u);
  EXPECT_EQ(h.s.num_computed_tokens(1), 21);
  EXPECT_EQ(h.s.num_tokens_in_blocks(), 21);  // 24 slots held: waste is the last block's tail
  h.s.Remove(1);
  EXPECT_EQ(h.s.block_pool().num_used(), 0);
}

TEST(SchedulerTest, DecodesAndPrefillChunkShareOneStep) {
  Harness h(Config(4, 10, 100));
  h.Add(1, 3);
  h.Step();
  h.Add(2, 30);
  BatchPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[0].seq_id, 1);
  EXPECT_EQ(p.chunks[0].num_tokens, 1);
  EXPECT_EQ(p.chunks[1].seq_id, 2);
  EXPECT_EQ(p.chunks[1].num_tokens, 9);
  EXPECT_EQ(p.num_tokens(), 10);
}

TEST(SchedulerTest, MaxNumSeqsCapsTheRunningSet) {
  Harness h(Config(2, 100, 100));
  for (int i = 1; i <= 3; ++i) h.Add(i, 4);
  BatchPlan p = h.Step();
  EXPECT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(h.s.num_running(), 2);
  EXPECT_EQ(h.s.num_waiting(), 1);
  h.s.Remove(1);
  p = h.Step();
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[1].seq_id, 3);
}

TEST(SchedulerTest, PriorityThenArrivalOrdersAdmission) {
  Harness h(Config(1, 100, 100));
  h.Add(1, 4, /*priority=*/5);
  h.Add(2, 4, 1);
  h.Add(3, 4, 1);
  EXPECT_EQ(h.Step().chunks[0].seq_id, 2);
  h.s.Remove(2);
  EXPECT_EQ(h.Step().chunks[0].seq_id, 3);
  h.s.Remove(3);
  EXPECT_EQ(h.Step().chunks[0].seq_id, 1);
}

TEST(SchedulerTest, PreemptsLowestPriorityLatestWhenBlocksRunOut) {
  // 6 blocks of 4 tokens. Three sequences of 8 tokens take 2 blocks each; the first decode
  // needs a 3rd block for one of them: the latest-arrived (3) is preempted.
  Harness h(Config(8, 100, 6));
  h.Add(1, 8);
  h.Add(2, 8);
  h.Add(3, 8);
  BatchPlan p = h.Step();
  EXPECT_EQ(p.chunks.size(), 3u);
  EXPECT_EQ(h.s.block_pool().num_free(), 0);
  p = h.Step();
  ASSERT_EQ(p.preempted, std::vector<int64_t>{3});
  EXPECT_FALSE(h.s.IsRunning(3));
  EXPECT_EQ(h.s.num_waiting(), 1);
  ASSERT_NE(h.ChunkOf(p, 1), nullptr);  // 3's two blocks serve the decodes of 1 and 2
  ASSERT_NE(h.ChunkOf(p, 2), nullptr);
  EXPECT_EQ(h.s.stats().num_preemptions, 1);
  // When 1 finishes, 3 comes back and recomputes prompt + its generated token from position 0.
  h.s.Remove(1);
  h.s.Remove(2);
  p = h.Step();
  const ScheduledChunk* c3 = h.ChunkOf(p, 3);
  ASSERT_NE(c3, nullptr);
  EXPECT_EQ(c3->start_pos + c3->num_tokens, 9);
  EXPECT_TRUE(c3->needs_sample);
  EXPECT_FALSE(c3->first_chunk);
}

TEST(SchedulerTest, PreemptedSequenceKeepsItsPlaceInLine) {
  Harness h(Config(2, 100, 4));
  h.Add(1, 8);   // 2 blocks
  h.Add(2, 8);   // 2 blocks
  h.Add(3, 4);   // waits: max_num_seqs
  h.Step();
  BatchPlan p = h.Step();  // 1's decode needs a block: 2 (latest running) is preempted
  ASSERT_EQ(p.preempted, std::vector<int64_t>{2});
  h.s.Remove(1);
  p = h.Step();  // 2 arrived before 3: it is admitted first
  ASSERT_FALSE(p.chunks.empty());
  EXPECT_EQ(p.chunks[0].seq_id, 2);
}

TEST(SchedulerTest, HigherPriorityArrivalPreemptsLowerPriorityRunning) {
  Harness h(Config(1, 100, 100));
  h.Add(1, 4, /*priority=*/10);
  h.Step();
  h.Add(2, 4, /*priority=*/0);
  BatchPlan p = h.Step();
  EXPECT_EQ(p.preempted, std::vector<int64_t>{1});
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].seq_id, 2);
  // Equal priority never preempts.
  h.Add(3, 4, /*priority=*/0);
  p = h.Step();
  EXPECT_TRUE(p.preempted.empty());
  EXPECT_EQ(p.chunks[0].seq_id, 2);
}

TEST(SchedulerTest, SharedPrefixReusesFullBlocks) {
  Harness h(Config(4, 100, 100));
  h.Add(1, 10);  // tokens 1000..1009: blocks [1000..1003], [1004..1007] become full
  BatchPlan p = h.Step();
  const std::vector<int32_t> table1 = p.chunks[0].block_table;
  // Same first 8 tokens, then different ones.
  h.tokens[2] = std::make_unique<std::vector<int32_t>>(*h.tokens[1]);
  h.tokens[2]->resize(8);
  for (int32_t t : {5, 6, 7, 8, 9}) h.tokens[2]->push_back(t);
  h.s.Add({.seq_id = 2, .tokens = h.tokens[2].get()});
  p = h.Step();
  const ScheduledChunk* c2 = h.ChunkOf(p, 2);
  ASSERT_NE(c2, nullptr);
  EXPECT_EQ(c2->start_pos, 8);  // only the suffix is computed
  EXPECT_EQ(c2->num_tokens, 5);
  EXPECT_EQ(c2->block_table[0], table1[0]);
  EXPECT_EQ(c2->block_table[1], table1[1]);
  EXPECT_EQ(h.s.block_pool().ref_count(table1[0]), 2);
  EXPECT_EQ(h.s.stats().prefix_hit_tokens, 8);
  EXPECT_EQ(h.s.stats().prefix_queried_tokens, 10 + 13);
}

TEST(SchedulerTest, FullyCachedPromptStillComputesItsLastToken) {
  Harness h(Config(4, 100, 100));
  h.Add(1, 8);
  h.Step();
  h.s.Remove(1);  // its 2 full blocks stay cached
  EXPECT_EQ(h.s.block_pool().num_cached_free(), 2);
  h.Add(2, 8);    // identical prompt
  BatchPlan p = h.Step();
  EXPECT_EQ(p.chunks[0].start_pos, 4);  // 1 block reused; the last block recomputed
  EXPECT_EQ(p.chunks[0].num_tokens, 4);
  EXPECT_TRUE(p.chunks[0].needs_sample);
}

TEST(SchedulerTest, CachedBlocksAreEvictedLeastRecentlyUsedFirst) {
  Harness h(Config(4, 100, 4));
  h.Add(1, 9);  // 3 blocks, 2 full (hashed)
  h.Step();
  h.s.Remove(1);
  EXPECT_EQ(h.s.block_pool().num_free(), 4);
  EXPECT_EQ(h.s.block_pool().num_cached_free(), 2);
  h.Add(2, 13, 0, /*first_token=*/5000);  // needs 4 blocks: evicts both cached ones
  h.Step();
  EXPECT_EQ(h.s.block_pool().num_cached_free(), 0);
  h.s.Remove(2);
  h.Add(3, 9);  // same as 1: nothing left to reuse from 1, but 2's blocks are now cached
  BatchPlan p = h.Step();
  EXPECT_EQ(p.chunks[0].start_pos, 0);
}

TEST(SchedulerTest, ScoreSequencesGetAllLogitsAndNoPrefixReuse) {
  Harness h(Config(2, 5, 100));
  h.Add(1, 12);
  h.Step(); h.Step(); h.Step();
  h.s.Remove(1);
  h.Add(7, 12, 0, 1000, /*all_logits=*/true);
  int32_t covered = 0;
  for (int step = 0; step < 3; ++step) {
    BatchPlan p = h.Step();
    ASSERT_EQ(p.chunks.size(), 1u);
    EXPECT_TRUE(p.chunks[0].all_logits);
    EXPECT_FALSE(p.chunks[0].needs_sample);
    EXPECT_EQ(p.chunks[0].start_pos, covered);
    covered += p.chunks[0].num_tokens;
  }
  EXPECT_EQ(covered, 12);
  EXPECT_TRUE(h.s.Step().empty());
}

TEST(SchedulerTest, RemovingWaitingAndRunningSequencesFreesEverything) {
  Harness h(Config(1, 100, 100));
  h.Add(1, 6);
  h.Add(2, 6);
  h.Step();
  h.s.Remove(2);
  EXPECT_EQ(h.s.num_waiting(), 0);
  h.s.Remove(1);
  EXPECT_EQ(h.s.num_running(), 0);
  EXPECT_EQ(h.s.block_pool().num_used(), 0);
}

KvRetention Windowed(int32_t window, int32_t sinks = 0) {
  KvRetention r;
  r.bounded = true;
  r.window = window;
  r.sink_tokens = sinks;
  return r;
}

TEST(SchedulerTest, SlidingWindowReleasesBlocksThatLeftTheWindow) {
  Harness h(Config(4, 100, 100));  // block size 4
  h.Add(1, 10, 0, 1000, false, Windowed(6));
  BatchPlan p = h.Step();  // computes 0..9; next query at 10 sees keys 5..: block 0 (0..3) dead
  EXPECT_EQ(h.s.block_table(1)[0], -1);
  EXPECT_GE(h.s.block_table(1)[1], 0);
  EXPECT_EQ(h.s.block_pool().num_used(), 2);
  int32_t max_used = 0;
  for (int step = 0; step < 200; ++step) {  // decode far past the window
    p = h.Step();
    max_used = std::max(max_used, h.s.block_pool().num_used());
  }
  // Window 6 + the token being computed span at most 3 blocks of 4.
  EXPECT_LE(max_used, 3);
  EXPECT_EQ(h.s.num_computed_tokens(1), 210);
  EXPECT_LE(h.s.num_tokens_in_blocks(), 12);
  h.s.Remove(1);
  EXPECT_EQ(h.s.block_pool().num_used(), 0);
}

TEST(SchedulerTest, SinkBlocksStayWhileTheMiddleIsReleased) {
  Harness h(Config(4, 100, 100));  // block size 4
  h.Add(1, 10, 0, 1000, false, Windowed(6, /*sinks=*/5));  // sinks span blocks 0 and 1
  for (int step = 0; step < 100; ++step) h.Step();
  const std::vector<int32_t>& table = h.s.block_table(1);
  EXPECT_GE(table[0], 0);
  EXPECT_GE(table[1], 0);
  EXPECT_EQ(table[2], -1);
  EXPECT_EQ(table[20], -1);
  // 2 sink blocks + at most 3 for the window and the token being computed.
  EXPECT_LE(h.s.block_pool().num_used(), 5);
  h.s.Remove(1);
  EXPECT_EQ(h.s.block_pool().num_used(), 0);
}

TEST(SchedulerTest, SegmentMemoryKeepsWholeSegments) {
  Harness h(Config(4, 100, 100));  // block size 4
  KvRetention r;
  r.bounded = true;
  r.segment_length = 8;  // 2 blocks per segment
  r.memory_segments = 1;
  h.Add(1, 30, 0, 1000, false, r);
  h.Step();  // computed 0..29; next query at 30 (segment 3) sees segments 2..3 = keys 16..
  const std::vector<int32_t>& table = h.s.block_table(1);
  for (int b = 0; b < 4; ++b) EXPECT_EQ(table[b], -1) << b;
  EXPECT_GE(table[4], 0);
  int32_t max_used = 0;
  for (int step = 0; step < 100; ++step) {
    h.Step();
    max_used = std::max(max_used, h.s.block_pool().num_used());
  }
  EXPECT_LE(max_used, 4);  // (memory + current segment) = 16 tokens = 4 blocks
}

TEST(SchedulerTest, SequencesWithoutKvHoldNoBlocksAndSkipThePrefixCache) {
  Harness h(Config(4, 100, 100));
  KvRetention linear;
  linear.uses_kv = false;
  linear.reuse_prefix = false;
  h.Add(1, 40, 0, 1000, false, linear);
  BatchPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].num_tokens, 40);
  EXPECT_TRUE(p.chunks[0].block_table.empty());
  for (int step = 0; step < 10; ++step) h.Step();
  EXPECT_EQ(h.s.block_pool().num_used(), 0);
  EXPECT_EQ(h.s.num_tokens_in_blocks(), 0);
  h.Add(2, 40, 0, 1000, false, linear);  // same tokens: still computed from position 0
  p = h.Step();
  EXPECT_EQ(h.ChunkOf(p, 2)->start_pos, 0);
}

TEST(SchedulerTest, PrefixCacheIsSeparatedByAttentionSalt) {
  Harness h(Config(4, 100, 100));
  KvRetention a, b;
  a.cache_salt = "bigbird:seed=1";
  b.cache_salt = "bigbird:seed=2";
  h.Add(1, 17, 0, 1000, false, a);
  h.Step();
  h.Add(2, 17, 0, 1000, false, b);  // same tokens, other attention: no reuse
  BatchPlan p = h.Step();
  EXPECT_EQ(h.ChunkOf(p, 2)->start_pos, 0);
  h.Add(3, 17, 0, 1000, false, a);  // same tokens and attention: 4 blocks reused
  p = h.Step();
  EXPECT_EQ(h.ChunkOf(p, 3)->start_pos, 16);
}

TEST(SchedulerTest, PrefixQueriesCountOncePerAdmission) {
  Harness h(Config(4, 100, 4));  // 4 blocks of 4
  h.Add(1, 12);                  // 3 blocks
  h.Step();
  h.Add(2, 12, 0, 5000);         // needs 3 blocks, 1 free: waits for several steps
  for (int i = 0; i < 5; ++i) h.Step();
  EXPECT_EQ(h.s.stats().prefix_queried_tokens, 12);  // only 1's admission so far
  h.s.Remove(1);
  h.Step();
  EXPECT_TRUE(h.s.IsRunning(2));
  EXPECT_EQ(h.s.stats().prefix_queried_tokens, 24);
}

TEST(SchedulerTest, PrefixCachingCanBeDisabled) {
  SchedulerConfig c = Config(4, 100, 100);
  c.enable_prefix_caching = false;
  Harness h(c);
  h.Add(1, 8);
  h.Step();
  h.Add(2, 8);
  BatchPlan p = h.Step();
  EXPECT_EQ(h.ChunkOf(p, 2)->start_pos, 0);
  EXPECT_EQ(h.s.stats().prefix_hit_tokens, 0);
}

TEST(SchedulerTest, RecurrentSequencesHoldOneSlotFromAdmissionToFinish) {
  SchedulerConfig c = Config(4, 64, 10);
  c.num_state_slots = 2;
  Harness h(c);
  h.AddRecurrent(1, 10);
  h.AddRecurrent(2, 10);
  h.AddRecurrent(3, 10);
  BatchPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 2u);  // the third waits for a slot although seats are free
  EXPECT_EQ(h.s.num_waiting(), 1);
  EXPECT_EQ(h.s.state_slots().num_free(), 0);
  const int32_t slot1 = h.ChunkOf(p, 1)->state_slot, slot2 = h.ChunkOf(p, 2)->state_slot;
  EXPECT_GE(slot1, 0);
  EXPECT_GE(slot2, 0);
  EXPECT_NE(slot1, slot2);
  EXPECT_TRUE(h.ChunkOf(p, 1)->block_table.empty());  // no KV
  p = h.Step();  // decodes keep their slots
  EXPECT_EQ(h.ChunkOf(p, 1)->state_slot, slot1);
  EXPECT_EQ(h.ChunkOf(p, 2)->state_slot, slot2);
  EXPECT_EQ(h.ChunkOf(p, 3), nullptr);
  h.s.Remove(1);  // finished: its slot goes to the waiting sequence
  EXPECT_EQ(h.s.state_slots().num_free(), 1);
  p = h.Step();
  ASSERT_NE(h.ChunkOf(p, 3), nullptr);
  EXPECT_EQ(h.ChunkOf(p, 3)->state_slot, slot1);
  EXPECT_EQ(h.ChunkOf(p, 3)->start_pos, 0);
  h.s.Remove(2);
  h.s.Remove(3);
  EXPECT_EQ(h.s.state_slots().num_free(), 2);
}

TEST(SchedulerTest, CancellingAWaitingRecurrentSequenceFreesNoSlot) {
  SchedulerConfig c = Config(4, 64, 10);
  c.num_state_slots = 1;
  Harness h(c);
  h.AddRecurrent(1, 5);
  h.AddRecurrent(2, 5);
  h.Step();
  h.s.Remove(2);  // waiting, holds no slot
  EXPECT_EQ(h.s.state_slots().num_free(), 0);
  h.s.Remove(1);
  EXPECT_EQ(h.s.state_slots().num_free(), 1);
}

TEST(SchedulerTest, HigherPriorityRecurrentArrivalTakesTheSlotOfALowerOne) {
  SchedulerConfig c = Config(4, 64, 10);
  c.num_state_slots = 1;
  Harness h(c);
  h.AddRecurrent(1, 6, /*priority=*/5);
  BatchPlan p = h.Step();
  const int32_t slot = h.ChunkOf(p, 1)->state_slot;
  h.AddRecurrent(2, 6, /*priority=*/0);
  p = h.Step();
  ASSERT_EQ(p.preempted.size(), 1u);
  EXPECT_EQ(p.preempted[0], 1);
  ASSERT_NE(h.ChunkOf(p, 2), nullptr);
  EXPECT_EQ(h.ChunkOf(p, 2)->state_slot, slot);
  EXPECT_EQ(h.ChunkOf(p, 1), nullptr);
  h.s.Remove(2);
  p = h.Step();  // the preempted sequence is recomputed from position 0 in a fresh slot
  ASSERT_NE(h.ChunkOf(p, 1), nullptr);
  EXPECT_EQ(h.ChunkOf(p, 1)->start_pos, 0);
  EXPECT_EQ(h.ChunkOf(p, 1)->state_slot, slot);
}

TEST(SchedulerTest, SequencesWithoutStateNeedNoSlot) {
  Harness h(Config(4, 64, 10));  // num_state_slots = 0
  h.Add(1, 5);
  BatchPlan p = h.Step();
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].state_slot, -1);
}

}  // namespace
}  // namespace attnserve

// Scheduler unit tests: scripted arrivals, assertions on BatchPlans and KV reservations.
#include "scheduler/scheduler.h"

#include <gtest/gtest.h>

namespace attnserve {
namespace {

SequenceInfo Seq(int64_t id, int32_t prompt, int32_t max_new, int32_t priority = 0) {
  SequenceInfo s;
  s.seq_id = id;
  s.num_tokens = prompt;
  s.max_total_tokens = prompt + max_new;
  s.priority = priority;
  return s;
}

// Runs a step and simulates the engine sampling one token for every chunk that asks for it.
BatchPlan RunStep(Scheduler& s) {
  BatchPlan plan = s.Step();
  s.OnStepDone(plan);
  for (const ScheduledChunk& c : plan.chunks)
    if (c.needs_sample) s.AppendToken(c.seq_id);
  return plan;
}

TEST(SchedulerTest, ChunkedPrefillThenDecode) {
  Scheduler s({.max_num_seqs = 4, .max_num_batched_tokens = 8, .kv_capacity_tokens = 1000});
  s.Add(Seq(1, 20, 5));
  BatchPlan p1 = RunStep(s);
  ASSERT_EQ(p1.chunks.size(), 1u);
  EXPECT_EQ(p1.chunks[0].start_pos, 0);
  EXPECT_EQ(p1.chunks[0].num_tokens, 8);
  EXPECT_FALSE(p1.chunks[0].needs_sample);
  EXPECT_TRUE(p1.chunks[0].first_chunk);
  BatchPlan p2 = RunStep(s);
  EXPECT_EQ(p2.chunks[0].start_pos, 8);
  EXPECT_EQ(p2.chunks[0].num_tokens, 8);
  EXPECT_FALSE(p2.chunks[0].first_chunk);
  BatchPlan p3 = RunStep(s);
  EXPECT_EQ(p3.chunks[0].start_pos, 16);
  EXPECT_EQ(p3.chunks[0].num_tokens, 4);
  EXPECT_TRUE(p3.chunks[0].needs_sample);
  BatchPlan p4 = RunStep(s);  // decode: the sampled token
  EXPECT_EQ(p4.chunks[0].start_pos, 20);
  EXPECT_EQ(p4.chunks[0].num_tokens, 1);
  EXPECT_TRUE(p4.chunks[0].needs_sample);
  EXPECT_EQ(s.num_computed_tokens(1), 21);
}

TEST(SchedulerTest, DecodesAndPrefillShareOneStep) {
  Scheduler s({.max_num_seqs = 4, .max_num_batched_tokens = 10, .kv_capacity_tokens = 1000});
  s.Add(Seq(1, 3, 5));
  RunStep(s);  // prefill of 1 (3 tokens)
  s.Add(Seq(2, 30, 5));
  BatchPlan p = RunStep(s);
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[0].seq_id, 1);  // running first: its decode token
  EXPECT_EQ(p.chunks[0].num_tokens, 1);
  EXPECT_EQ(p.chunks[1].seq_id, 2);  // then the newcomer's chunk within the remaining budget
  EXPECT_EQ(p.chunks[1].num_tokens, 9);
  EXPECT_EQ(p.num_tokens(), 10);
}

TEST(SchedulerTest, MaxNumSeqsCapsRunningSet) {
  Scheduler s({.max_num_seqs = 2, .max_num_batched_tokens = 100, .kv_capacity_tokens = 1000});
  for (int i = 1; i <= 3; ++i) s.Add(Seq(i, 4, 4));
  BatchPlan p = RunStep(s);
  EXPECT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(s.num_running(), 2);
  EXPECT_EQ(s.num_waiting(), 1);
  s.Remove(1);
  p = RunStep(s);
  EXPECT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[1].seq_id, 3);
}

TEST(SchedulerTest, PriorityOrdersAdmissionThenArrival) {
  Scheduler s({.max_num_seqs = 1, .max_num_batched_tokens = 100, .kv_capacity_tokens = 1000});
  s.Add(Seq(1, 4, 4, /*priority=*/5));
  s.Add(Seq(2, 4, 4, /*priority=*/0));
  s.Add(Seq(3, 4, 4, /*priority=*/0));
  EXPECT_EQ(RunStep(s).chunks[0].seq_id, 2);
  s.Remove(2);
  EXPECT_EQ(RunStep(s).chunks[0].seq_id, 3);
  s.Remove(3);
  EXPECT_EQ(RunStep(s).chunks[0].seq_id, 1);
}

TEST(SchedulerTest, KvReservationLimitsAdmissionAndIsFreed) {
  Scheduler s({.max_num_seqs = 8, .max_num_batched_tokens = 100, .kv_capacity_tokens = 30});
  s.Add(Seq(1, 10, 10));  // reserves 20
  s.Add(Seq(2, 10, 10));  // would need 40 in all: waits
  RunStep(s);
  EXPECT_EQ(s.reserved_tokens(), 20);
  EXPECT_EQ(s.num_running(), 1);
  EXPECT_EQ(s.num_waiting(), 1);
  s.Remove(1);
  EXPECT_EQ(s.reserved_tokens(), 0);
  RunStep(s);
  EXPECT_EQ(s.num_running(), 1);
  EXPECT_EQ(s.reserved_tokens(), 20);
  s.Remove(2);
  EXPECT_EQ(s.reserved_tokens(), 0);
  EXPECT_EQ(s.num_running() + s.num_waiting(), 0);
}

TEST(SchedulerTest, ScoreSequencesGetAllLogitsAndNoSampling) {
  Scheduler s({.max_num_seqs = 2, .max_num_batched_tokens = 5, .kv_capacity_tokens = 100});
  SequenceInfo score = Seq(7, 12, 0);
  score.all_logits = true;
  s.Add(score);
  int32_t covered = 0;
  for (int step = 0; step < 3; ++step) {
    BatchPlan p = RunStep(s);
    ASSERT_EQ(p.chunks.size(), 1u);
    EXPECT_TRUE(p.chunks[0].all_logits);
    EXPECT_FALSE(p.chunks[0].needs_sample);
    EXPECT_EQ(p.chunks[0].start_pos, covered);
    covered += p.chunks[0].num_tokens;
  }
  EXPECT_EQ(covered, 12);
  EXPECT_TRUE(s.Step().empty());
}

TEST(SchedulerTest, RemovingWaitingSequence) {
  Scheduler s({.max_num_seqs = 1, .max_num_batched_tokens = 100, .kv_capacity_tokens = 100});
  s.Add(Seq(1, 4, 4));
  s.Add(Seq(2, 4, 4));
  RunStep(s);
  s.Remove(2);
  EXPECT_EQ(s.num_waiting(), 0);
  EXPECT_FALSE(s.Contains(2));
  EXPECT_TRUE(s.Contains(1));
}

}  // namespace
}  // namespace attnserve

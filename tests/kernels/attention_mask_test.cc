// AttentionMask rules (kernels/attention_mask.h): hand-checked cases of Visible() for every kind,
// BigBirdRandomBlocks (distinct, in range, ascending, reproducible per seed, all candidates when
// fewer than requested) and LowestReachableKey (no query at or after p sees a key below it).
#include "kernels/attention_mask.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace attnserve {
namespace {

constexpr int64_t kHeads = 2;

bool See(const AttentionMask& m, int64_t p, int64_t k, int64_t row = 0, int64_t head = 0) {
  return Visible(m, row, head, kHeads, p, k);
}

TEST(AttentionMaskTest, CausalSeesEveryEarlierKey) {
  const AttentionMask m;
  EXPECT_TRUE(See(m, 5, 0));
  EXPECT_TRUE(See(m, 5, 5));
  EXPECT_FALSE(See(m, 5, 6));
  EXPECT_FALSE(See(m, 5, -1));
}

TEST(AttentionMaskTest, SlidingWindowSeesTheLastWindowKeys) {
  AttentionMask m;
  m.kind = MaskKind::kSlidingWindow;
  m.window = 3;
  EXPECT_TRUE(See(m, 10, 10));
  EXPECT_TRUE(See(m, 10, 8));
  EXPECT_FALSE(See(m, 10, 7));
  EXPECT_FALSE(See(m, 10, 11));
  EXPECT_TRUE(See(m, 1, 0));
}

TEST(AttentionMaskTest, SinksAddTheFirstTokens) {
  AttentionMask m;
  m.kind = MaskKind::kSinks;
  m.sink_tokens = 2;
  m.window = 3;
  EXPECT_TRUE(See(m, 10, 0));
  EXPECT_TRUE(See(m, 10, 1));
  EXPECT_FALSE(See(m, 10, 2));
  EXPECT_FALSE(See(m, 10, 7));
  EXPECT_TRUE(See(m, 10, 8));
  EXPECT_FALSE(See(m, 1, 2));  // still causal
}

TEST(AttentionMaskTest, SegmentsSeeTheirOwnAndMemorySegments) {
  AttentionMask m;
  m.kind = MaskKind::kSegments;
  m.segment_length = 4;
  m.memory_segments = 1;
  // p = 9 is in segment 2; with one memory segment it sees segments 1 and 2 (keys 4..9).
  EXPECT_FALSE(See(m, 9, 3));
  EXPECT_TRUE(See(m, 9, 4));
  EXPECT_TRUE(See(m, 9, 9));
  EXPECT_FALSE(See(m, 9, 10));
  EXPECT_TRUE(See(m, 8, 4));  // first token of a segment still sees the whole previous one
  m.memory_segments = 0;
  EXPECT_FALSE(See(m, 9, 7));
  EXPECT_TRUE(See(m, 9, 8));
}

TEST(AttentionMaskTest, LongformerGlobalKeysAndQueries) {
  const std::vector<int32_t> global = {0, 6};
  AttentionMask m;
  m.kind = MaskKind::kLongformer;
  m.window = 2;
  m.global_positions = global.data();
  m.num_global = int64_t(global.size());
  EXPECT_TRUE(See(m, 10, 10));
  EXPECT_TRUE(See(m, 10, 9));
  EXPECT_FALSE(See(m, 10, 8));
  EXPECT_TRUE(See(m, 10, 0));  // global key
  EXPECT_TRUE(See(m, 10, 6));  // global key
  EXPECT_FALSE(See(m, 10, 7));
  EXPECT_TRUE(See(m, 6, 1));   // global query sees every earlier key
  EXPECT_FALSE(See(m, 6, 7));  // but stays causal
  EXPECT_FALSE(See(m, 5, 3));
}

TEST(AttentionMaskTest, BigBirdWindowGlobalAndRandomBlocks) {
  AttentionMask m;
  m.kind = MaskKind::kBigBird;
  m.block = 4;
  m.window_blocks = 2;
  m.global_blocks = 1;
  m.random_blocks = 0;
  // p = 13: query block 3 sees blocks 2..3 (window) and 0 (global); block 1 is hidden.
  EXPECT_TRUE(See(m, 13, 0));
  EXPECT_TRUE(See(m, 13, 3));
  EXPECT_FALSE(See(m, 13, 4));
  EXPECT_FALSE(See(m, 13, 7));
  EXPECT_TRUE(See(m, 13, 8));
  EXPECT_TRUE(See(m, 13, 13));
  EXPECT_FALSE(See(m, 13, 14));
  EXPECT_TRUE(See(m, 2, 1));  // a global query block sees everything earlier
  // One random block with block 1 the only candidate: it is picked.
  m.random_blocks = 1;
  EXPECT_TRUE(See(m, 13, 4));
  EXPECT_TRUE(See(m, 13, 7));
}

TEST(AttentionMaskTest, BlockListPerRowAndHead) {
  // Rows 0..1 × heads 0..1 × 2 slots; blocks of 4 tokens, window 2.
  const std::vector<int32_t> selected = {0,
                                         -1,
                                         /*row 0 head 1*/ 1,
                                         1,
                                         /*row 1 head 0*/ -1,
                                         -1,
                                         /*row 1 head 1*/ 2,
                                         0};
  AttentionMask m;
  m.kind = MaskKind::kBlockList;
  m.window = 2;
  m.select_block = 4;
  m.selected_blocks = selected.data();
  m.num_selected = 2;
  EXPECT_TRUE(See(m, 10, 0, 0, 0));
  EXPECT_TRUE(See(m, 10, 3, 0, 0));
  EXPECT_FALSE(See(m, 10, 4, 0, 0));
  EXPECT_TRUE(See(m, 10, 9, 0, 0));  // window
  EXPECT_FALSE(See(m, 10, 8, 0, 0));
  EXPECT_TRUE(See(m, 10, 5, 0, 1));
  EXPECT_FALSE(See(m, 10, 0, 0, 1));
  EXPECT_FALSE(See(m, 10, 0, 1, 0));  // only the window
  EXPECT_TRUE(See(m, 10, 10, 1, 0));
  EXPECT_TRUE(See(m, 10, 8, 1, 1));    // block 2
  EXPECT_TRUE(See(m, 10, 2, 1, 1));    // block 0
  EXPECT_FALSE(See(m, 10, 11, 1, 1));  // block 2 is causal too
}

AttentionMask BigBird(int64_t window_blocks, int64_t global_blocks, int64_t random_blocks,
                      uint64_t seed) {
  AttentionMask m;
  m.kind = MaskKind::kBigBird;
  m.block = 8;
  m.window_blocks = window_blocks;
  m.global_blocks = global_blocks;
  m.random_blocks = random_blocks;
  m.seed = seed;
  return m;
}

TEST(BigBirdRandomBlocksTest, DistinctAscendingInRangeAndReproducible) {
  const AttentionMask m = BigBird(3, 2, 4, 42);
  for (int64_t qb = 0; qb < 200; ++qb) {
    std::vector<int64_t> a(m.random_blocks), b(m.random_blocks);
    const int64_t n = BigBirdRandomBlocks(m, qb, a.data());
    const int64_t candidates = std::max<int64_t>(0, qb - m.window_blocks - m.global_blocks + 1);
    ASSERT_EQ(n, std::min(m.random_blocks, candidates)) << "qb=" << qb;
    for (int64_t j = 0; j < n; ++j) {
      EXPECT_GE(a[j], m.global_blocks);
      EXPECT_LE(a[j], qb - m.window_blocks);
      if (j > 0) {
        EXPECT_LT(a[j - 1], a[j]) << "qb=" << qb;  // ascending and distinct
      }
    }
    ASSERT_EQ(BigBirdRandomBlocks(m, qb, b.data()), n);
    for (int64_t j = 0; j < n; ++j) EXPECT_EQ(a[j], b[j]) << "same seed, same blocks";
  }
}

TEST(BigBirdRandomBlocksTest, AnotherSeedPicksOtherBlocks) {
  const AttentionMask m1 = BigBird(3, 1, 3, 1), m2 = BigBird(3, 1, 3, 2);
  int differing = 0;
  for (int64_t qb = 20; qb < 60; ++qb) {
    int64_t a[3], b[3];
    ASSERT_EQ(BigBirdRandomBlocks(m1, qb, a), 3);
    ASSERT_EQ(BigBirdRandomBlocks(m2, qb, b), 3);
    differing += !std::equal(a, a + 3, b);
  }
  EXPECT_GT(differing, 30);
}

TEST(BigBirdRandomBlocksTest, AllCandidatesWhenFewerThanRequested) {
  const AttentionMask m = BigBird(2, 1, 5, 7);
  int64_t out[5];
  EXPECT_EQ(BigBirdRandomBlocks(m, 2, out), 0);  // no candidate: [1, 0]
  ASSERT_EQ(BigBirdRandomBlocks(m, 5, out), 3);  // candidates 1..3
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 2);
  EXPECT_EQ(out[2], 3);
}

// For every p: no query at p or later sees a key below LowestReachableKey(p) (sink tokens
// aside), and the query at p sees that key itself.
void ExpectLowestReachableConsistent(const AttentionMask& m, int64_t ignore_below) {
  for (int64_t p = 0; p < 120; ++p) {
    const int64_t low = LowestReachableKey(m, p);
    ASSERT_GE(low, 0) << "p=" << p;
    EXPECT_TRUE(See(m, p, low)) << "p=" << p;
    for (int64_t q = p; q < p + 60; ++q)
      for (int64_t k = ignore_below; k < low; ++k)
        EXPECT_FALSE(See(m, q, k)) << p << " " << q << " " << k;
  }
}

TEST(LowestReachableKeyTest, ConsistentWithVisible) {
  AttentionMask m;
  m.kind = MaskKind::kSlidingWindow;
  m.window = 7;
  ExpectLowestReachableConsistent(m, 0);
  m.kind = MaskKind::kSinks;
  m.sink_tokens = 3;
  ExpectLowestReachableConsistent(m, 3);
  AttentionMask s;
  s.kind = MaskKind::kSegments;
  s.segment_length = 5;
  s.memory_segments = 2;
  ExpectLowestReachableConsistent(s, 0);
  s.memory_segments = 0;
  ExpectLowestReachableConsistent(s, 0);
}

TEST(LowestReachableKeyTest, UnboundedKinds) {
  for (MaskKind kind :
       {MaskKind::kCausal, MaskKind::kLongformer, MaskKind::kBigBird, MaskKind::kBlockList}) {
    AttentionMask m;
    m.kind = kind;
    m.window = 4;
    EXPECT_EQ(LowestReachableKey(m, 100), -1) << int(kind);
  }
}

}  // namespace
}  // namespace attnserve

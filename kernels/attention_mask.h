// AttentionMask: which cached keys a query may see, for every softmax-attention backend of the
// registry (engine/attention/). Plain data (no owning pointers) so the CPU and, later, CUDA
// kernels read the same description; `Visible()` is the one definition of each rule, used by the
// naive reference and by the tests of every fast kernel.
//
// Positions are absolute sequence positions. Every rule is causal: query position p never sees a
// key k > p. On top of that:
//   kCausal         all k <= p                                              (full attention)
//   kSlidingWindow  p - k < window                                          (Mistral / HF sliding_window)
//   kSinks          k < sink_tokens  or  p - k < window                     (StreamingLLM)
//   kSegments       k / L >= p / L - M   (L = segment_length, M = memory_segments)  (Transformer-XL)
//   kLongformer     p - k < window  or  k in G  or  p in G   (G = global_positions)
//   kBigBird        with blocks of `block` tokens, qb = p / block, kb = k / block:
//                   qb - kb < window_blocks  or  kb < global_blocks  or  qb < global_blocks
//                   or kb in BigBirdRandomBlocks(seed, qb, ...)
//   kBlockList      p - k < window  or  k / select_block in selected[i, h, :]   (Quest: the blocks
//                   were chosen per query row i and head h by Backend::QuestSelect)
#pragma once

#include <cstdint>

namespace attnserve {

enum class MaskKind : int32_t {
  kCausal = 0,
  kSlidingWindow,
  kSinks,
  kSegments,
  kLongformer,
  kBigBird,
  kBlockList,
};

struct AttentionMask {
  MaskKind kind = MaskKind::kCausal;
  int64_t window = 0;           // kSlidingWindow, kSinks, kLongformer, kBlockList: tokens (>= 1)
  int64_t sink_tokens = 0;      // kSinks
  int64_t segment_length = 0;   // kSegments: L >= 1
  int64_t memory_segments = 0;  // kSegments: M >= 0
  // kLongformer: int32[num_global] absolute positions, strictly ascending (not owned).
  const int32_t* global_positions = nullptr;
  int64_t num_global = 0;
  // kBigBird.
  int64_t block = 0;            // tokens per block (>= 1)
  int64_t window_blocks = 1;    // >= 1 (1 = the query's own block only)
  int64_t global_blocks = 0;
  int64_t random_blocks = 0;
  uint64_t seed = 0;
  // kBlockList: int32[num_q, num_heads, num_selected] logical block indexes (blocks of
  // select_block tokens), -1 = unused slot (not owned).
  const int32_t* selected_blocks = nullptr;
  int64_t num_selected = 0;
  int64_t select_block = 0;
};

// BigBird's random blocks of query block qb: min(random_blocks, n) distinct blocks drawn
// uniformly from the candidates [global_blocks, qb - window_blocks] (n of them: the blocks no
// other rule already shows), a pure function of (seed, qb) so results are reproducible.
// Writes them to out[0..count) in ascending order and returns count (out holds >= random_blocks).
int64_t BigBirdRandomBlocks(const AttentionMask& mask, int64_t qb, int64_t* out);

// The rule above for the query in row `row` (absolute position p) of head `head`. Reference speed.
bool Visible(const AttentionMask& mask, int64_t row, int64_t head, int64_t num_heads, int64_t p,
             int64_t k);

// The lowest key position any query at position >= p can still see, ignoring sinks, global
// tokens and random/selected blocks; -1 when the rule is unbounded (kCausal, kLongformer,
// kBigBird, kBlockList). Used to free KV blocks no future query can reach.
int64_t LowestReachableKey(const AttentionMask& mask, int64_t p);

}  // namespace attnserve

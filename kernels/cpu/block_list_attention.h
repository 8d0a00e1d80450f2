// Quest-style attention (MaskKind::kBlockList) on the CPU. Every (query row, head) sees the blocks
// selected for it (mask.selected_blocks, logical blocks of select_block tokens) plus its local
// window, so the heads of one KV group share no key set and the tiled kernel of attention.cc does
// not apply; each (query, head) pair runs alone with online softmax over chunks of its keys.
// Used mostly at decode (num_q = 1), where the pairs (one per head) are the parallel work.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace attnserve::cpu {

// Backend::PagedAttention for mask.kind == kBlockList:
//   q, out f32[num_q, num_heads, head_dim]; keys/values through kv's block table.
// Reads only the window's and the selected blocks' rows (-1 slots and blocks past the query
// skipped, duplicates counted once).
void BlockListAttention(int num_threads, const float* q, const PagedKvView& kv,
                        const AttentionShape& shape, const AttentionMask& mask, float* out);

}  // namespace attnserve::cpu

// Causal grouped-query attention on the CPU, masked and paged: FlashAttention-style tiles (a tile
// of queries × the heads of one KV group against absolute tiles of keys, online softmax, split-KV
// for decode); see attention.cc. kBlockList goes per (query, head) to block_list_attention.h.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace attnserve::cpu {

// Same contract as Backend::CausalAttention:
//   q, out f32[num_q, num_heads, head_dim]  (queries at positions num_kv-num_q .. num_kv-1)
//   k, v   f32[num_kv, kv_stride]           (head h reads columns (h / group) * head_dim ..)
void CausalAttention(int num_threads, const float* q, const float* k, const float* v, float* out,
                     int64_t num_q, int64_t num_kv, int64_t num_heads, int64_t num_kv_heads,
                     int64_t head_dim, int64_t kv_stride, float scale);

// Same contract as Backend::PagedAttention (keys/values through a block table, masked).
void PagedAttention(int num_threads, const float* q, const PagedKvView& kv,
                    const AttentionShape& shape, const AttentionMask& mask, float* out);

}  // namespace attnserve::cpu

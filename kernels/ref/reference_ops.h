// Naive reference implementations of the attention-family ops that live in their own files
// (kernels/ref/*_ref.cc); same contracts as the Backend methods of the same name. Double
// accumulation, single-threaded, written for clarity: they are the test oracle.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace attnserve::ref {

void UpdateKeySummaries(const PagedKvView& kv, int64_t kv_stride, int64_t first_pos,
                        int64_t num_pos, float* summaries);

void QuestSelect(const float* q, const PagedKvView& kv, const float* summaries,
                 const AttentionShape& shape, int64_t top_k, int64_t window, int32_t* selected);

void LinearAttention(const float* q, const float* k, const float* v,
                     const LinearAttentionShape& shape, float* state, float* out);

}  // namespace attnserve::ref

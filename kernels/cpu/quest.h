// Quest (query-aware sparsity, Tang et al. 2024) on the CPU: per-block key min/max summaries
// and the per-(query, head) choice of the top-k blocks by their attention upper bound.
// Same contracts as Backend::UpdateKeySummaries / Backend::QuestSelect.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace attnserve::cpu {

void UpdateKeySummaries(int num_threads, const PagedKvView& kv, int64_t kv_stride,
                        int64_t first_pos, int64_t num_pos, float* summaries);

void QuestSelect(int num_threads, const float* q, const PagedKvView& kv, const float* summaries,
                 const AttentionShape& shape, int64_t top_k, int64_t window, int32_t* selected);

}  // namespace attnserve::cpu

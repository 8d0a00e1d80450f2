// Causal linear attention (ELU+1, Performer FAVOR+) on the CPU: chunked prefill and O(1)-per-token
// decode over the recurrent state. Same contract as Backend::LinearAttention.
#pragma once

#include <cstdint>

#include "kernels/backend.h"

namespace attnserve::cpu {

void LinearAttention(int num_threads, const float* q, const float* k, const float* v,
                     const LinearAttentionShape& shape, float* state, float* out);

}  // namespace attnserve::cpu

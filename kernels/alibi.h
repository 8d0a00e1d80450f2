// ALiBi slopes (Press et al. 2021, "Train Short, Test Long: Attention with Linear Biases"): the
// per-head factors of the linear attention bias that BLOOM, MPT and Falcon (alibi=True) use in
// place of position embeddings. Kernels take them through AttentionShape::alibi_slopes
// (kernels/backend.h), which adds slope[h]·(k − p) to the logit of query position p, key k.
//
//   num_heads = 8:   slope[h] = 2^(-8(h+1)/8) = 1/2, 1/4, ..., 1/256
//   num_heads = 6:   the 4-head slopes 2^-2, 2^-4, 2^-6, 2^-8, then 2^-1, 2^-3 (the slopes of
//                    the 8-head list that the 4-head list lacks, in order)
#pragma once

#include <cstdint>
#include <vector>

namespace attnserve {

// f32[num_heads] slopes of transformers' BLOOM build_alibi_tensor (_get_alibi_slopes):
//   c = 2^floor(log2 num_heads);  slope[h] = b^(h+1) for h < c, b = f32(2^(-8/c));
//   heads c.. take the odd powers b'^1, b'^3, ... of b' = f32(2^(-4/c)) (the 2c-head list's
//   slopes that the c-head list lacks).
// The f32 base is as in transformers; the power is computed in double and rounded once, which
// matches torch bitwise except where torch's vectorised pow is 1 ulp off (num_heads >= 32).
std::vector<float> AlibiSlopes(int64_t num_heads);

// f32[num_heads] slopes of transformers' MPT build_mpt_alibi_tensor (alibi_bias_max = 8 in every
// MPT config): n2 = 2^ceil(log2 num_heads); s[i] = 1 / 2^f32((i+1) · f32(alibi_bias_max / n2));
// when n2 != num_heads the list is s[1], s[3], ..., s[0], s[2], ..., cut to num_heads.
// With alibi_bias_max = 8 these are the BLOOM slopes for every head count (the odd/even
// reordering of the 2c-head list is exactly BLOOM's "c slopes + extra odd powers"), equal up to
// f32 rounding (a few ulp; bitwise for powers of 2 up to 8 heads). Other bias maxima differ.
std::vector<float> MptAlibiSlopes(int64_t num_heads, double alibi_bias_max = 8.0);

}  // namespace attnserve

// Linear attention (the survey's "linear" family): softmax(q·k) is replaced by a feature-map
// product φ(q)·φ(k), so causal attention becomes a running sum — prefill in chunks, decode O(1)
// per token from a fixed-size recurrent state (docs/architecture.md, RecurrentState; no paged KV).
//
//   out_t = Σ_{j<=t} (φ(q_t)·φ(k_j)) v_j  /  Σ_{j<=t} φ(q_t)·φ(k_j)
//
// Feature maps (x = head vector, d = head_dim, x' = x · sqrt(scale) so that q'·k' = scale·q·k):
//   kEluPlusOne    φ(x) = elu(x) + 1                         (Katharopoulos et al.; m = d)
//   kFavorPositive φ(x) = exp(W x' - |x'|²/2) / sqrt(m)      (Performer FAVOR+, positive random
//                  features; W f32[m, d] from MakeFavorProjection: blocks of d orthogonal rows,
//                  each row scaled to the norm of a d-dim Gaussian vector). E[φ(q)·φ(k)] = exp(q'·k').
// FAVOR+ is evaluated with stabilisers that cancel in the ratio: queries subtract their own max
// of W x'; keys are kept relative to a running max stored in the state, which is rescaled when
// a larger one arrives.
#pragma once

#include <cstdint>

namespace attnserve {

enum class FeatureMap : int32_t { kEluPlusOne = 0, kFavorPositive = 1 };

struct LinearAttentionShape {
  int64_t num_tokens = 0;    // tokens of this chunk, consecutive positions of one sequence
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;  // num_heads % num_kv_heads == 0; a query head reads its group's state
  int64_t head_dim = 0;
  int64_t kv_stride = 0;     // floats per k/v row (>= num_kv_heads * head_dim)
  float scale = 1.0f;        // softmax scale being approximated (1/sqrt(head_dim) for Llama)
  FeatureMap feature_map = FeatureMap::kEluPlusOne;
  int64_t num_features = 0;          // m: FAVOR+ features; must equal head_dim for kEluPlusOne
  const float* projection = nullptr; // kFavorPositive: W f32[num_features, head_dim]
};

// Floats of one sequence's state for one layer:
//   per kv head: S f32[m, head_dim] | z f32[m] | key_log_scale f32[1]   (c = key_log_scale)
//   S = e^-c · Σ_j φ(k_j) v_jᵀ,  z = e^-c · Σ_j φ(k_j)  over the keys seen so far; for FAVOR+
//   c = max over those keys j and features i of log φ(k_j)_i (-inf before the first key), so the
//   state is the same whatever the chunking (up to rounding); ELU+1 leaves c alone (plain sums).
// LinearStateInit produces the empty state: S = 0, z = 0, key_log_scale = -inf.
int64_t LinearStateFloats(int64_t num_kv_heads, int64_t num_features, int64_t head_dim);
// Sets `state` (LinearStateFloats floats) to the empty sum (no tokens seen).
void LinearStateInit(float* state, int64_t num_kv_heads, int64_t num_features, int64_t head_dim);

// FAVOR+ projection W f32[m, d] (see above), deterministic in (m, d, seed) on every platform.
void MakeFavorProjection(int64_t num_features, int64_t head_dim, uint64_t seed, float* w);

}  // namespace attnserve

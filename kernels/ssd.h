// Mamba-2 mixer kernels (state-space duality, "SSD"): the scan of one sequence's chunk over its
// multi-head recurrent state, and the gated grouped RMSNorm that follows it. Semantics are those
// of Hugging Face transformers' Mamba2Mixer torch path (models/mamba2/modeling_mamba2.py:
// mamba2_chunk_scan for a prefill chunk, mamba2_selective_state_update for a decode step,
// MambaRMSNormGated for the norm; no hub kernels). The conv1d in front of the scan is the Mamba-1
// CausalConv1dSilu of kernels/ssm.h over the xBC channels. Prefill of a chunk and a decode step
// are the same call (num_tokens = 1 for decode, O(1) in the sequence length); any split of a
// sequence into calls gives the same result when the state is carried (up to rounding).
//
// Layouts: activations are token-major (row t = token t of the chunk, consecutive positions of one
// sequence), rows of the [tokens, features] buffers the linear layers produce, hence the strides:
// in Mamba2Mixer x, B and C are column ranges of the conv output row [x (H·P) | B (G·N) | C (G·N)]
// and dt is the last H columns of the in_proj row [z | xBC | dt]. Inside a row, x is head-major
// (element h·P + p), B and C group-major (element g·N + n). The state is f32[H, P, N], HF's
// recurrent_state layout per sequence. H = num_heads, P = head_dim, G = n_groups, N = d_state.
//
// 1. SsdScan — per head h (group g = h / (H / G)), token t, p < P, n < N (S = state[h]):
//      delta     = clamp(softplus(dt[t, h] + dt_bias[h]), dt_min, dt_max)
//                  softplus(v) = v if v > 20 else log1p(e^v)          (torch, threshold 20)
//      S[p, n]   = exp(delta · A[h]) · S[p, n] + delta · x[t, h, p] · B[t, g, n]
//      out[t, h, p] = Σ_n S[p, n] · C[t, g, n]  +  D[h] · x[t, h, p]
//    A = -exp(A_log) (one scalar per head: Mamba-2's decay is a scalar times the identity),
//    precomputed by the caller. dt is in_proj's dt column WITHOUT dt_bias (HF adds dt_bias inside
//    the scan, as here). [dt_min, dt_max] is HF's config.time_step_limit (default (0, inf): no
//    clamp, softplus is > 0). NOTE: HF applies the clamp in mamba2_chunk_scan only; its decode
//    step mamba2_selective_state_update ignores time_step_limit. To reproduce HF bit for bit with
//    a non-default limit, pass the default limits on num_tokens = 1 calls (with the default
//    limits both paths agree). The state starts at zero for a new sequence (HF: initial_states =
//    None on the first prefill; later chunks and decode steps carry it).
//    The result does not depend on chunk_size (up to rounding): it is the block length Q of the
//    chunked algorithm a backend may use for num_tokens > 1 (HF's config.chunk_size):
//      per block of Q tokens, a_l = delta_l · A[h], cum_l = Σ_{i<=l} a_i,
//      Y_diag = ((C Bᵀ) ∘ L) · (delta ∘ X),  L[l, s] = exp(cum_l - cum_s) for s <= l else 0
//      Y_off  = exp(cum_l) · C · S0ᵀ        (S0: state entering the block)
//      S1     = exp(cum_last) · S0 + Σ_s exp(cum_last - cum_s) · delta_s · x_s ⊗ B_s
//    HF's mamba2_chunk_scan applies z = None (the gate belongs to the norm below).
//
// 2. GatedRmsNorm — HF MambaRMSNormGated(hidden_size = dim, group_size) with a gate
//    (norm_before_gate = False), per row r and group k of group_size consecutive elements:
//      v[i]   = x[r, i] · silu(z[r, i])                        silu(u) = u / (1 + e^-u)
//      out[r, i] = weight[i] · v[i] / sqrt(mean_{j in group k} v[j]² + eps)
//    z = nullptr means no gate (HF gate = None: v = x). group_size = dim is one group (plain
//    RMSNorm of the gated row); Mamba2Mixer uses group_size = intermediate_size / n_groups.
#pragma once

#include <cmath>
#include <cstdint>

namespace attnserve {

struct SsdShape {
  int64_t num_tokens = 0;    // T (0 is a no-op)
  int64_t num_heads = 0;     // H
  int64_t head_dim = 0;      // P
  int64_t num_groups = 0;    // G, H % G == 0; head h reads B/C group h / (H / G)
  int64_t state_size = 0;    // N
  int64_t chunk_size = 256;  // Q of the chunked algorithm (>= 1); any Q gives the same result
  int64_t x_stride = 0;      // floats between rows of x;  0 = H·P
  int64_t dt_stride = 0;     // floats between rows of dt; 0 = H
  int64_t bc_stride = 0;     // floats between rows of B and of C; 0 = G·N
  float dt_min = 0.0f;       // clamp of softplus(dt + dt_bias): HF time_step_limit
  float dt_max = INFINITY;
};
// x f32[T, x_stride] (element h·P + p of a row), dt f32[T, dt_stride] (element h; before bias and
// softplus), dt_bias f32[H] or nullptr (no bias), A f32[H] (= -exp(A_log)), B f32[T, bc_stride]
// (element g·N + n), C f32[T, bc_stride] (same), D f32[H] or nullptr (no skip), state f32[H, P, N]
// (in/out; zeros at sequence start), out f32[T, H·P] (dense; must not alias any input).

struct GatedRmsNormShape {
  int64_t rows = 0;        // tokens (0 is a no-op)
  int64_t dim = 0;         // features per row (H·P for Mamba-2)
  int64_t group_size = 0;  // normalised group, dim % group_size == 0; 0 = dim (one group)
  int64_t z_stride = 0;    // floats between rows of z; 0 = dim
  float eps = 1e-6f;       // HF variance_epsilon (Mamba2Config.layer_norm_epsilon)
};
// x f32[rows, dim] (dense), z f32[rows, z_stride] (gate, first dim floats of a row) or nullptr,
// weight f32[dim], out f32[rows, dim] (dense; may alias x, not z).

namespace cpu {

// AVX2+FMA, OpenMP over heads (num_threads threads at most). num_tokens == 1: the O(1) recurrent
// step; num_tokens > 1: the chunked algorithm above in blocks of shape.chunk_size tokens.
void SsdScan(int num_threads, const float* x, const float* dt, const float* dt_bias, const float* A,
             const float* B, const float* C, const float* D, const SsdShape& shape, float* state,
             float* out);

// AVX2+FMA, OpenMP over rows.
void GatedRmsNorm(int num_threads, const float* x, const float* z, const float* weight,
                  const GatedRmsNormShape& shape, float* out);

}  // namespace cpu

namespace ref {

// Naive single-threaded references (token-by-token recurrence, double accumulation): the oracle.
void SsdScan(const float* x, const float* dt, const float* dt_bias, const float* A, const float* B,
             const float* C, const float* D, const SsdShape& shape, float* state, float* out);

void GatedRmsNorm(const float* x, const float* z, const float* weight,
                  const GatedRmsNormShape& shape, float* out);

}  // namespace ref

}  // namespace attnserve

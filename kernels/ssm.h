// Mamba-1 mixer kernels (selective state-space models, issue 6): the causal depthwise conv1d with
// its rolling input state, and the selective scan with its recurrent state. Free functions for
// now (not yet Backend methods). Semantics are those of Hugging Face transformers' MambaMixer
// torch path (models/mamba/modeling_mamba.py: causal_conv1d_fn / causal_conv1d_update for the
// conv, mamba_selective_scan / mamba_selective_state_update for the scan; no mambapy, no hub
// kernels). Prefill of a chunk and a decode step are the same call (num_tokens = 1 for decode,
// O(1) in the sequence length); any split of a sequence into chunks gives the same result when
// the states are carried from call to call (up to rounding).
//
// Layouts: all activations are token-major (row t = token t of the chunk, consecutive positions
// of one sequence), matching the [tokens, features] rows the engine's linear layers produce.
// Per-channel parameters and states are channel-major. `channels` is Mamba's D_inner
// (intermediate_size), `state_size` is N (d_state), `kernel_size` is K (d_conv).
//
// 1. CausalConv1dSilu — per channel c:
//      xin   = conv_state[c, 0..K-2] followed by x[0..T-1, c]          (K-1+T inputs)
//      out[t, c] = silu(bias[c] + Σ_{i<K} weight[c, i] · xin[t + i])   (t < T)
//      conv_state[c, :] = xin[T .. T+K-2]                               (last K-1 inputs)
//    = HF's F.conv1d(groups=channels, padding=K-1)[..., :T] then act (prefill, zero state), and
//    its causal_conv1d_update (decode: cat(state, x), keep the tail, conv without padding).
//    HF's nn.Conv1d weight f32[channels, 1, K] is our weight f32[channels, K] (squeeze(1)).
//    HF's cache keeps K inputs per channel (state_len = conv_kernel); the oldest one never
//    contributes to an output, so ours keeps K-1 = that cache's [..., 1:].
//
// 2. SelectiveScan — per channel c and token t (h = ssm_state[c, :], f32[N]):
//      delta  = softplus(dt[t, c] + dt_bias[c])        softplus(x) = x if x > 20 else log1p(e^x)
//      h[n]   = exp(delta · A[c, n]) · h[n] + (delta · B[t, n]) · u[t, c]
//      y      = Σ_n h[n] · C[t, n]  +  D[c] · u[t, c]
//      out[t, c] = y · silu(z[t, c])
//    `dt` is dt_proj(x_proj(u)[..., :dt_rank]) WITHOUT its bias: in HF, MambaMixer computes
//    `self.dt_proj.weight @ time_step` and passes `dt_proj.bias` as delta_bias/dt_bias, added
//    inside the scan before the softplus (as here). A = -exp(A_log), precomputed by the caller.
//    B and C are shared by all channels (Mamba-1: one group); they are the x_proj output's
//    column ranges [dt_rank, dt_rank+N) and [dt_rank+N, dt_rank+2N), hence bc_stride.
//    The D skip uses u, and the gate multiplies after the skip (HF order).
//    ssm_state starts at zero for a new sequence (HF's prefill always starts from zero; its
//    decode step continues from the cached state, which is what a num_tokens = 1 call does).
#pragma once

#include <cstdint>

namespace attnserve {

struct SsmConvShape {
  int64_t num_tokens = 0;   // T (0 is a no-op)
  int64_t channels = 0;     // D_inner
  int64_t kernel_size = 0;  // K >= 1; conv_state holds K-1 floats per channel
  int64_t x_stride = 0;     // floats between x rows (>= channels); 0 = channels (dense)
};
// x f32[T, x_stride] (first `channels` floats of a row used), weight f32[channels, K],
// bias f32[channels] or nullptr, conv_state f32[channels, K-1] (in/out, oldest input first;
// zeros at sequence start), out f32[T, channels] (dense; must not alias x or conv_state).

struct SelectiveScanShape {
  int64_t num_tokens = 0;  // T (0 is a no-op)
  int64_t channels = 0;    // D_inner
  int64_t state_size = 0;  // N
  int64_t u_stride = 0;    // floats between rows of u;   0 = channels
  int64_t dt_stride = 0;   // floats between rows of dt;  0 = channels
  int64_t bc_stride = 0;   // floats between rows of B and of C; 0 = state_size
  int64_t z_stride = 0;    // floats between rows of z;   0 = channels
};
// u f32[T, u_stride] (conv output), dt f32[T, dt_stride] (before bias and softplus),
// dt_bias f32[channels] or nullptr (no bias), A f32[channels, N], B f32[T, bc_stride],
// C f32[T, bc_stride], D f32[channels] or nullptr (no skip), z f32[T, z_stride] or nullptr (no
// gate), ssm_state f32[channels, N] (in/out), out f32[T, channels] (dense; may alias u when
// u_stride == channels — each element of u is read before its out is written, nothing else).

namespace cpu {

// AVX2+FMA, OpenMP over channels (num_threads threads at most).
void CausalConv1dSilu(int num_threads, const float* x, const float* weight, const float* bias,
                      const SsmConvShape& shape, float* conv_state, float* out);

void SelectiveScan(int num_threads, const float* u, const float* dt, const float* dt_bias,
                   const float* A, const float* B, const float* C, const float* D, const float* z,
                   const SelectiveScanShape& shape, float* ssm_state, float* out);

}  // namespace cpu

namespace ref {

// Naive single-threaded references (double accumulation): the test oracle.
void CausalConv1dSilu(const float* x, const float* weight, const float* bias,
                      const SsmConvShape& shape, float* conv_state, float* out);

void SelectiveScan(const float* u, const float* dt, const float* dt_bias, const float* A,
                   const float* B, const float* C, const float* D, const float* z,
                   const SelectiveScanShape& shape, float* ssm_state, float* out);

}  // namespace ref

}  // namespace attnserve

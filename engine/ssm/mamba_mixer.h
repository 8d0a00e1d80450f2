// Folder engine/ssm/: state-space token mixers (Mamba, Mamba-2). Includes engine/config/,
// engine/memory/.
//
// MambaMixer: the selective-state-space token mixer of MambaForCausalLM (transformers
// MambaMixer) and of Jamba's Mamba layers (JambaMambaMixer, which adds RMSNorms on dt, B and C),
// over a packed batch of chunks from different sequences:
//   x, z   = in_proj(h) split in halves                       f32[T, inner] each
//   u      = silu(causal depthwise conv1d(x))                  per sequence, from its conv state
//   dt', B, C = x_proj(u) split [dt_rank, N, N]                (Jamba: each RMSNorm-ed)
//   dt     = dt_proj.weight · dt'   (its bias is added inside the scan, before the softplus)
//   y      = selective scan(u, dt, A = -exp(A_log), B, C, D) * silu(z)   per sequence, from its SSM state
//   out    = out_proj(y)
// Prefill chunks and decode tokens are the same call (kernels/ssm.h); cost per token does not
// depend on the sequence length.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/config/model_config.h"
#include "engine/ssm/ssm_chunk.h"
#include "engine/memory/weight_loader.h"
#include "kernels/backend.h"

namespace attnserve {

struct MambaMixerWeights {
  WeightTensor in_proj;               // [2*inner, hidden], weight dtype
  F32Tensor in_proj_bias;             // f32[2*inner] or empty
  F32Tensor conv_weight, conv_bias;   // f32[inner, 1, K], f32[inner] or empty
  F32Tensor x_proj;                   // f32[dt_rank + 2N, inner]
  F32Tensor dt_proj, dt_bias;         // f32[inner, dt_rank], f32[inner]
  std::vector<float> A;               // f32[inner, N] = -exp(A_log)
  F32Tensor D;                        // f32[inner]
  WeightTensor out_proj;              // [hidden, inner], weight dtype
  F32Tensor out_proj_bias;            // f32[hidden] or empty
  F32Tensor dt_norm, b_norm, c_norm;  // Jamba: f32[dt_rank], f32[N], f32[N]; else empty

  // Loads `prefix` + in_proj.weight, conv1d.weight, ... (HF names); errors name tensor and file.
  void Load(WeightLoader& loader, const std::string& prefix, const ModelConfig& config);
};

class MambaMixer {
 public:
  // h f32[T, hidden] (the layer's normed input, rows of all chunks) -> out f32[T, hidden].
  // Each chunk's state f32[SsmSpec::state_floats(kMamba)] = conv f32[inner, K-1] then ssm
  // f32[inner, N].
  void Forward(const ModelConfig& config, const MambaMixerWeights& w, const float* h,
               std::span<const SsmChunk> chunks, Backend& backend, float* out);

 private:
  // Scratch for T tokens.
  std::vector<float> xz_;             // f32[T, 2*inner]
  std::vector<float> u_;              // f32[T, inner] conv output
  std::vector<float> dbc_;            // f32[T, dt_rank + 2N]
  std::vector<float> dt_low_, b_, c_; // f32[T, dt_rank], f32[T, N] x2 (B, C only when normalised)
  std::vector<float> dt_;             // f32[T, inner]
  std::vector<float> y_;              // f32[T, inner]
};

}  // namespace attnserve

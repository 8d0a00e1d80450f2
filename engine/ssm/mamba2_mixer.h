// Mamba2Mixer: the multi-head SSD token mixer of Mamba2ForCausalLM (transformers Mamba2Mixer,
// torch path) over a packed batch of chunks from different sequences:
//   z, xBC, dt = in_proj(h) split [inner, inner + 2·G·N, heads]
//   xBC        = silu(causal depthwise conv1d(xBC))          per sequence, from its conv state
//   x, B, C    = xBC split [inner, G·N, G·N]                 (heads share B/C within a group)
//   y          = SSD(x, softplus(dt + dt_bias) clamped to time_step_limit, A = -exp(A_log), B, C, D)
//                chunked (intra-chunk matmuls + inter-chunk state passing) for prefill chunks,
//                the O(1) recurrence for decode tokens, per sequence from its SSM state
//   y          = gated RMSNorm(y, z): weight · g / rms_group(g), g = y · silu(z), groups of inner/G
//   out        = out_proj(y)
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

struct Mamba2MixerWeights {
  WeightTensor in_proj;               // [2*inner + 2GN + heads, hidden], weight dtype
  F32Tensor in_proj_bias;             // f32[2*inner + 2GN + heads] or empty
  F32Tensor conv_weight, conv_bias;   // f32[inner + 2GN, 1, K], f32[inner + 2GN] or empty
  F32Tensor dt_bias;                  // f32[heads]
  std::vector<float> A;               // f32[heads] = -exp(A_log)
  F32Tensor D;                        // f32[heads]
  F32Tensor norm;                     // f32[inner]: gated RMSNorm weight
  WeightTensor out_proj;              // [hidden, inner], weight dtype
  F32Tensor out_proj_bias;            // f32[hidden] or empty

  // Loads `prefix` + in_proj.weight, conv1d.weight, ... (HF names); errors name tensor and file.
  void Load(WeightLoader& loader, const std::string& prefix, const ModelConfig& config);
};

class Mamba2Mixer {
 public:
  // h f32[T, hidden] (the layer's normed input, rows of all chunks) -> out f32[T, hidden].
  // Each chunk's state f32[SsmSpec::state_floats(kMamba2)] = conv f32[inner + 2GN, K-1] then
  // ssm f32[heads, head_dim, N].
  void Forward(const ModelConfig& config, const Mamba2MixerWeights& w, const float* h,
               std::span<const SsmChunk> chunks, Backend& backend, float* out);

 private:
  std::vector<float> proj_;  // f32[T, 2*inner + 2GN + heads]
  std::vector<float> xbc_;   // f32[T, inner + 2GN]
  std::vector<float> y_;     // f32[T, inner]
};

}  // namespace attnserve

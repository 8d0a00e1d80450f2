// RopeTable: cos/sin of the default rotary embedding for given positions, computed the way
// transformers' LlamaRotaryEmbedding does in float32:
//   inv_freq[i] = 1 / theta^(2i / head_dim)   (f32),  angle = f32(pos) * inv_freq[i]
#pragma once

#include <cstdint>
#include <vector>

namespace attnserve {

class RopeTable {
 public:
  RopeTable(int64_t head_dim, double theta);

  // positions int32[num_tokens] -> cos, sin f32[num_tokens, head_dim/2].
  void Compute(const int32_t* positions, int64_t num_tokens, float* cos, float* sin) const;
  int64_t half_dim() const { return static_cast<int64_t>(inv_freq_.size()); }

 private:
  std::vector<float> inv_freq_;  // f32[head_dim/2]
};

}  // namespace attnserve

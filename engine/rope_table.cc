// RopeTable implementation (float32, mirroring transformers' default rope init).
#include "engine/rope_table.h"

#include <cmath>

namespace attnserve {

RopeTable::RopeTable(int64_t head_dim, double theta) {
  inv_freq_.resize(head_dim / 2);
  const float base = static_cast<float>(theta);
  for (int64_t i = 0; i < head_dim / 2; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv_freq_[i] = 1.0f / std::pow(base, exponent);
  }
}

void RopeTable::Compute(const int32_t* positions, int64_t num_tokens, float* cos,
                        float* sin) const {
  const int64_t half = half_dim();
  for (int64_t t = 0; t < num_tokens; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float angle = pos * inv_freq_[i];
      cos[t * half + i] = std::cos(angle);
      sin[t * half + i] = std::sin(angle);
    }
  }
}

}  // namespace attnserve

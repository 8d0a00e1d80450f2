// ALiBi slopes of BLOOM and MPT (see alibi.h), with the f32 roundings of transformers' torch code.
#include "kernels/alibi.h"

#include <algorithm>
#include <cmath>

namespace attnserve {

std::vector<float> AlibiSlopes(int64_t num_heads) {
  std::vector<float> slopes;
  if (num_heads <= 0) return slopes;
  slopes.reserve(num_heads);
  int64_t c = 1;  // closest power of 2 <= num_heads
  while (c * 2 <= num_heads) c *= 2;
  // transformers: base = 2 ** (-(2 ** -(log2(c) - 3))) in double, held as an f32 tensor.
  const float base = float(std::pow(2.0, -std::pow(2.0, -(std::log2(double(c)) - 3.0))));
  for (int64_t h = 1; h <= c; ++h) slopes.push_back(float(std::pow(double(base), double(h))));
  if (c != num_heads) {
    const float extra = float(std::pow(2.0, -std::pow(2.0, -(std::log2(double(2 * c)) - 3.0))));
    const int64_t remaining = std::min(c, num_heads - c);
    for (int64_t i = 0; i < remaining; ++i)
      slopes.push_back(float(std::pow(double(extra), double(2 * i + 1))));
  }
  return slopes;
}

std::vector<float> MptAlibiSlopes(int64_t num_heads, double alibi_bias_max) {
  std::vector<float> slopes;
  if (num_heads <= 0) return slopes;
  int64_t n2 = 1;  // power of 2 >= num_heads
  while (n2 < num_heads) n2 *= 2;
  // transformers: base = arange(1, n2 + 1).float() * (alibi_bias_max / n2); 1.0 / pow(2, base).
  const float step = float(alibi_bias_max / double(n2));
  std::vector<float> all(n2);
  for (int64_t i = 0; i < n2; ++i) {
    const float exponent = float(i + 1) * step;
    all[i] = 1.0f / float(std::pow(2.0, double(exponent)));
  }
  if (n2 == num_heads) return all;
  for (int64_t i = 1; i < n2; i += 2) slopes.push_back(all[i]);
  for (int64_t i = 0; i < n2; i += 2) slopes.push_back(all[i]);
  slopes.resize(num_heads);
  return slopes;
}

}  // namespace attnserve

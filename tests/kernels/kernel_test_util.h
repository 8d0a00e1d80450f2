// Helpers shared by the kernel tests: seeded random tensors and an element-wise comparison whose
// error bound is stated by each test (absolute + relative to a per-element magnitude).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace attnserve::testing {

// f32[m, n]: Σ_p |x[i, p] · w[j, p]| for x f32[m, k], w f32[n, k] — the magnitude that bounds the
// f32 accumulation error of a Linear (the per-element scale for ExpectClose).
inline std::vector<float> AbsDotSums(const std::vector<float>& x, const std::vector<float>& w, int64_t m,
                                     int64_t n, int64_t k) {
  std::vector<float> mag(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double sum = 0.0;
      for (int64_t p = 0; p < k; ++p) sum += std::fabs(double(x[i * k + p]) * w[j * k + p]);
      mag[i * n + j] = float(sum);
    }
  return mag;
}

// f32[n] uniform in [lo, hi), deterministic for a seed.
inline std::vector<float> RandomVector(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

// Expects |got[i] - want[i]| <= atol + rtol * magnitude[i] for all i (magnitude defaults to |want|).
// Reports the worst element only, so a broken kernel prints one line, not thousands.
inline void ExpectClose(const std::vector<float>& got, const std::vector<float>& want, double atol,
                        double rtol, const std::vector<float>* magnitude = nullptr,
                        const std::string& what = "") {
  ASSERT_EQ(got.size(), want.size()) << what;
  double worst_excess = 0.0;
  int64_t worst = -1;
  for (size_t i = 0; i < got.size(); ++i) {
    const double mag = magnitude ? (*magnitude)[i] : std::fabs(double(want[i]));
    const double err = std::fabs(double(got[i]) - double(want[i]));
    const double excess = err - (atol + rtol * mag);
    if (!(excess <= 0.0) && (worst < 0 || !(excess <= worst_excess))) {
      worst_excess = excess;
      worst = int64_t(i);
    }
  }
  if (worst >= 0) {
    ADD_FAILURE() << what << ": element " << worst << " got " << got[worst] << " want "
                  << want[worst] << " (bound " << atol << " + " << rtol << " * "
                  << (magnitude ? (*magnitude)[worst] : std::fabs(want[worst])) << ")";
  }
}

}  // namespace attnserve::testing

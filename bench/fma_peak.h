// FMA peak of this machine, for roofline ratios in the benchmarks: `threads` threads each run 12
// independent AVX2 FMA chains (> latency × throughput = 4 × 2) on registers only. Best of `reps`
// runs of ~50 ms; GFLOP/s. On a shared machine this is the peak available at the moment.
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace attnserve::bench {

inline float FmaChains(int64_t iters) {
  __m256 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm256_set1_ps(1.0f + i);
  const __m256 mul = _mm256_set1_ps(0.9999999f), add = _mm256_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm256_fmadd_ps(a[i], mul, add);
  }
  __m256 s = a[0];
  for (int i = 1; i < 12; ++i) s = _mm256_add_ps(s, a[i]);
  return _mm256_cvtss_f32(s);
}

inline double MeasureFmaPeakGflops(int threads, int reps) {
  constexpr int64_t kIters = int64_t{1} << 22;  // 12 chains x 8 lanes x 2 FLOP per iteration
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    float sink = 0;
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += FmaChains(kIters);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    volatile float keep = sink;
    (void)keep;
    best = std::max(best, threads * kIters * 12.0 * 8 * 2 * 1e-9 / s);
  }
  return best;
}

}  // namespace attnserve::bench

// Memory read bandwidth of this machine, for roofline ratios in the benchmarks: streams a 1 GiB
// buffer on `threads` threads, each reading its share as 4 interleaved sequential streams (as a
// GEMV reads several weight rows at once). Best of `reps` runs; GB/s.
#pragma once

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <thread>

namespace attnserve::bench {

inline const float* BandwidthBuffer(int64_t* floats) {  // 1 GiB, first-touched by all threads
  static const int64_t n = (int64_t{1} << 30) / 4;
  static float* buf = [] {
    float* p = static_cast<float*>(std::aligned_alloc(64, n * 4));
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; ++i) p[i] = 1.0f;
    return p;
  }();
  *floats = n;
  return buf;
}

// Streams the buffer once; returns GB read.
inline double ReadPass(int threads) {
  int64_t n;
  const float* p = BandwidthBuffer(&n);
  constexpr int64_t kBlock = 32;  // floats per stream per step
  float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
    const int64_t per = n / omp_get_num_threads(), quarter = per / 4;
    const float* s = p + omp_get_thread_num() * per;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t i = 0; i + kBlock <= quarter; i += kBlock) {
      for (int64_t j = 0; j < kBlock; j += 8) {
        a0 = _mm256_add_ps(a0, _mm256_load_ps(s + i + j));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(s + quarter + i + j));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(s + 2 * quarter + i + j));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(s + 3 * quarter + i + j));
      }
    }
    total += _mm256_cvtss_f32(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  }
  volatile float sink = total;
  (void)sink;
  return n * 4e-9;
}

// Best rate (amount / second) of up to max_reps runs of fn, stopping early once `enough` is
// reached; short pauses between runs let a run land in a quiet moment of a shared machine.
template <class Fn>
double BestRate(int max_reps, double enough, Fn fn) {
  double best = 0;
  for (int r = 0; r < max_reps && best < enough; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double amount = fn();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::max(best, amount / s);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return best;
}

inline double MeasureReadBandwidthGBs(int threads, int reps) {
  return BestRate(reps, 1e30, [threads] { return ReadPass(threads); });
}

}  // namespace attnserve::bench

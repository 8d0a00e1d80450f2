// Timing helpers of the attention benchmarks: wall seconds, process CPU seconds, and the minimum
// of repeated runs with the cores actually obtained (on a shared VM, less than the thread count).
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <limits>

namespace attnserve::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

inline double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Minimum wall time of up to `reps` calls of fn (a first call longer than 4 s is not repeated);
// *cores gets the process CPU time / wall time of that call: the cores it actually had (on a
// shared machine, less than the thread count).
template <class Fn>
double MinTime(int reps, Fn fn, double* cores = nullptr) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    const double cpu0 = ProcessCpuSeconds();
    const auto t0 = Clock::now();
    fn();
    const double wall = Seconds(t0);
    if (wall < best && cores != nullptr) *cores = (ProcessCpuSeconds() - cpu0) / wall;
    best = std::min(best, wall);
    if (best > 4.0) break;
  }
  return best;
}

}  // namespace attnserve::bench

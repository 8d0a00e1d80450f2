// Parallel-for helper for the CPU kernels: one OpenMP team of num_threads, each thread handed one
// contiguous range. Ranges are aligned to `align` elements so SIMD/register tiles never straddle
// two threads. With one range (small work or one thread) the body runs inline, without a team.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstdint>

namespace attnserve::cpu {

// Runs fn(begin, end) over a split of [0, n) into at most num_threads ranges of >= min_chunk
// elements, each starting at a multiple of align. fn must be safe to call concurrently.
template <class Fn>
void ParallelRanges(int num_threads, int64_t n, int64_t align, int64_t min_chunk, Fn&& fn) {
  if (n <= 0) return;
  const int64_t max_parts = std::max<int64_t>(1, n / std::max<int64_t>(min_chunk, 1));
  const int parts = int(std::min<int64_t>(num_threads, max_parts));
  if (parts <= 1) {
    fn(int64_t{0}, n);
    return;
  }
  const int64_t units = (n + align - 1) / align;
#pragma omp parallel num_threads(parts)
  {
    const int t = omp_get_thread_num(), nt = omp_get_num_threads();
    const int64_t b = std::min(n, units * t / nt * align);
    const int64_t e = std::min(n, units * (t + 1) / nt * align);
    if (b < e) fn(b, e);
  }
}

}  // namespace attnserve::cpu

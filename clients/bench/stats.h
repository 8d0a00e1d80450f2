// Summary statistics of latency samples: mean, min, max and linearly interpolated percentiles
// (numpy's default method, so p50 <= p90 <= p99 always holds). Pure functions.
#pragma once

#include <cstddef>
#include <vector>

namespace attnserve::bench {

struct Summary {
  size_t count = 0;
  double mean = 0, min = 0, max = 0;
  double p50 = 0, p90 = 0, p99 = 0;  // all 0 when count == 0
};

// The p-th percentile (0..100) of `sorted` (ascending, non-empty), interpolating between ranks.
double Percentile(const std::vector<double>& sorted, double p);

Summary Summarize(std::vector<double> samples);

}  // namespace attnserve::bench

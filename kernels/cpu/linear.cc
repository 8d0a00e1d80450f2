// Linear driver for the CPU backend: picks the kernel for a shape (ChooseLinearKernel, from the
// measurements in docs/benchmarks.md) and splits the output across the OpenMP team.
//   n large enough -> each thread owns a contiguous block of output columns (= weight rows), so the
//                     weights are read exactly once in total and no two threads write one cache line
//                     except at block edges (blocks are 16-column aligned);
//   otherwise      -> each thread owns a block of rows of x / y.
//   (GEMV and the dot-tile kernel always split n: their whole point is reading w once.)
#include <algorithm>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/parallel.h"

namespace attnserve::cpu {
namespace {

constexpr int64_t kMinBlasRows = 128;

using KernelFn = void (*)(const float*, const float*, const float*, float*, int64_t, int64_t,
                          int64_t, int64_t);

KernelFn KernelFor(LinearKernel kernel) {
  switch (kernel) {
    case LinearKernel::kOwnGemm: return &GemmAvx2;
    case LinearKernel::kOwnGemv: return &GemvAvx2;
    case LinearKernel::kOwnDot: return &DotGemmAvx2;
    case LinearKernel::kBlas: return &GemmBlas;
    case LinearKernel::kAuto: break;
  }
  return nullptr;
}

}  // namespace

LinearKernel ChooseLinearKernel(int64_t m, int64_t /*n*/, int64_t /*k*/) {
  // Measured in bench/bench_kernels.cc with weights coming from DRAM, see docs/benchmarks.md
  // ("Batched decode Linear"):
  //   m < 128   decode and batched decode: the own dot-tile kernel streams w once, unpacked, with
  //             the next tile prefetched: m = 16 costs 1.5-2.3x m = 1 (before: GEMV / own GEMM 3-4x),
  //             and at m = 64..128 it beats OpenBLAS, which repacks the cold weights every call;
  //   m >= 128  prefill, FLOP-bound: OpenBLAS (AVX-512 "Cooperlake" kernels on Zen 4).
  return m < kMinBlasRows ? LinearKernel::kOwnDot : LinearKernel::kBlas;
}

void LinearParallel(LinearKernel kernel, int num_threads, const float* x, const float* w,
                    const float* bias, float* y, int64_t m, int64_t n, int64_t k) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // empty reduction: y = bias or 0
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) y[i * n + j] = bias ? bias[j] : 0.0f;
    }
    return;
  }
  if (kernel == LinearKernel::kAuto) kernel = ChooseLinearKernel(m, n, k);
  const KernelFn fn = KernelFor(kernel);
  // Below ~64K multiply-adds a team costs more than it saves.
  const int threads = m * n * k < (int64_t{1} << 16) ? 1 : num_threads;
  if (n >= int64_t{128} * threads || kernel == LinearKernel::kOwnGemv ||
      kernel == LinearKernel::kOwnDot) {
    ParallelRanges(threads, n, /*align=*/16, /*min_chunk=*/16, [&](int64_t b, int64_t e) {
      fn(x, w + b * k, bias ? bias + b : nullptr, y + b, m, e - b, k, n);
    });
  } else {
    ParallelRanges(threads, m, /*align=*/6, /*min_chunk=*/6, [&](int64_t b, int64_t e) {
      fn(x + b * k, w, bias, y + b * n, e - b, n, k, n);
    });
  }
}

}  // namespace attnserve::cpu

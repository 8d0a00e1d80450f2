// Linear driver for weights in any dtype (kernels/cpu/gemm_typed.h):
//   f32                 -> LinearParallel (kernels/cpu/linear.cc);
//   m < kTypedFusedMaxRows (decode, small batches) -> the fused kernels of gemm_typed_avx2.cc:
//                          bf16 / f16 widened in registers; q8_0 / q4_0 as integer block dots with
//                          x quantized to int8 blocks once, before the team starts (llama.cpp's
//                          scheme; measured 1.2x (q8_0) and 1.7x (q4_0) the speed of widening the
//                          blocks to f32 in registers, docs/benchmarks.md "Weight dtypes");
//   larger m (prefill)  -> each thread widens tiles of its w rows to f32 in a thread-local buffer
//                          and runs the f32 kernel ChooseLinearKernel picks for m on the tile; the
//                          widening costs one pass over w, amortised over m rows.
// Every path splits n: each thread owns a contiguous block of w rows, read from memory once.
#include <algorithm>
#include <vector>

#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_typed.h"
#include "kernels/cpu/parallel.h"
#include "kernels/dtype_convert.h"

namespace attnserve::cpu {
namespace {

// w rows widened per tile: a multiple of the f32 kernels' tiles (16-aligned thread ranges);
// ~48 rows keep a tile in L2 for the dot kernel, OpenBLAS wants larger panels to pack.
int64_t WidenTileRows(int64_t m) { return m < 128 ? 48 : 256; }

}  // namespace

void LinearTypedParallel(int num_threads, const float* x, const WeightMatrix& w, const float* bias,
                         float* y, int64_t m) {
  const int64_t n = w.rows, k = w.cols;
  if (w.dtype == DType::kF32) {
    return LinearParallel(LinearKernel::kAuto, num_threads, x, static_cast<const float*>(w.data), bias,
                          y, m, n, k);
  }
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = 0; j < n; ++j) y[i * n + j] = bias ? bias[j] : 0.0f;
    }
    return;
  }
  const int threads = m * n * k < (int64_t{1} << 16) ? 1 : num_threads;
  if (m < kTypedFusedMaxRows) {
    if (IsBlockDType(w.dtype)) {
      thread_local std::vector<int8_t> qs;
      thread_local std::vector<float> d;
      qs.resize(static_cast<size_t>(m * k));
      d.resize(static_cast<size_t>(m * k / kQuantBlock));
      QuantizeRowsQ8(x, m, k, qs.data(), d.data());
      const QuantizedRows xq{qs.data(), d.data(), k};
      ParallelRanges(threads, n, /*align=*/16, /*min_chunk=*/16, [&](int64_t b, int64_t e) {
        DotQuantAvx2(xq, w.Rows(b, e - b), bias ? bias + b : nullptr, y + b, m, n);
      });
    } else {
      ParallelRanges(threads, n, /*align=*/16, /*min_chunk=*/16, [&](int64_t b, int64_t e) {
        DotWideningAvx2(x, w.Rows(b, e - b), bias ? bias + b : nullptr, y + b, m, n);
      });
    }
    return;
  }
  const LinearKernel kernel = ChooseLinearKernel(m, n, k);
  const int64_t tile = WidenTileRows(m);
  ParallelRanges(threads, n, /*align=*/16, /*min_chunk=*/16, [&](int64_t b, int64_t e) {
    thread_local std::vector<float> panel;
    for (int64_t j = b; j < e; j += tile) {
      const int64_t rows = std::min(tile, e - j);
      panel.resize(static_cast<size_t>(rows * k));
      ConvertToF32(w.dtype, w.row(j), panel.data(), static_cast<size_t>(rows * k));
      const float* tb = bias ? bias + j : nullptr;
      if (kernel == LinearKernel::kBlas) {
        GemmBlas(x, panel.data(), tb, y + j, m, rows, k, n);
      } else {
        DotGemmAvx2(x, panel.data(), tb, y + j, m, rows, k, n);
      }
    }
  });
}

}  // namespace attnserve::cpu

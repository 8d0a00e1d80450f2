// Linear driver for weights in any dtype, one or several outputs over the same x in one thread
// team (kernels/cpu/gemm_typed.h):
//   f32                 -> LinearParallel (kernels/cpu/linear.cc);
//   m below kWideningFusedMaxRows (bf16 / f16) or kInt8FusedMaxRows (block dtypes): the fused
//                          kernels of gemm_typed_avx2.cc:
//                          bf16 / f16 widened in registers; block dtypes (unless the backend was
//                          made with quantize_activations = false, or the matrix is marked
//                          exact_activations) as integer block dots with x quantized to int8
//                          blocks once, before the team starts (llama.cpp's scheme; measured 1.2x
//                          (q8_0) and 1.7x (q4_0) the speed of widening the blocks to f32 in
//                          registers, docs/benchmarks.md "Weight dtypes"), else blocks decoded in
//                          registers against f32 x (gemm_block_f32_avx2.cc);
//   larger m (prefill)  -> each thread widens tiles of its w rows to f32 in a thread-local buffer
//                          and runs the f32 kernel ChooseLinearKernel picks for m on the tile; the
//                          widening costs one pass over w, amortised over m rows.
// Every path splits n: each thread owns a contiguous block of w rows, read from memory once.
#include <algorithm>
#include <span>
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

void LinearMultiParallel(int num_threads, bool quantize_activations, const float* x, int64_t m,
                         std::span<const LinearOutput> outputs) {
  if (outputs.empty() || m <= 0) return;
  const int64_t k = outputs[0].w.cols;
  if (outputs.size() == 1 && outputs[0].w.dtype == DType::kF32) {  // may split m instead of n
    const LinearOutput& o = outputs[0];
    return LinearParallel(LinearKernel::kAuto, num_threads, x, static_cast<const float*>(o.w.data),
                          o.bias, o.y, m, o.w.rows, k);
  }
  int64_t total = 0;
  bool any_block = false;
  for (const LinearOutput& o : outputs) {
    total += o.w.rows;
    any_block |= IsBlockDType(o.w.dtype);
  }
  if (total <= 0) return;
  if (k <= 0) {
    for (const LinearOutput& o : outputs) {
      for (int64_t i = 0; i < m * o.w.rows; ++i) o.y[i] = o.bias ? o.bias[i % o.w.rows] : 0.0f;
    }
    return;
  }
  const bool fused = m < kWideningFusedMaxRows;
  bool any_int8 = false;  // a block-dtype output multiplied with int8 x
  for (const LinearOutput& o : outputs) any_int8 |= IsBlockDType(o.w.dtype) && !o.w.exact_activations;
  const bool small_block = m < kInt8FusedMaxRows && any_block;
  const bool int8_x = small_block && quantize_activations && any_int8;
  QuantizedRows xq;
  if (int8_x) {  // x as int8 blocks once, for every q8_0 / q4_0 output
    thread_local std::vector<int8_t> qs;
    thread_local std::vector<float> d;
    qs.resize(static_cast<size_t>(m * k));
    d.resize(static_cast<size_t>(m * k / kQuantBlock));
    QuantizeRowsQ8(x, m, k, qs.data(), d.data());
    xq = {qs.data(), d.data(), k};
  }
  const LinearKernel f32_kernel = ChooseLinearKernel(m, total, k);
  // Rows [j, j + rows) of output o, on the calling thread.
  auto run = [&](const LinearOutput& o, int64_t j, int64_t rows) {
    const int64_t n = o.w.rows;
    const float* bias = o.bias ? o.bias + j : nullptr;
    float* y = o.y + j;
    if (o.w.dtype == DType::kF32) {
      const float* w = static_cast<const float*>(o.w.data) + j * k;
      if (f32_kernel == LinearKernel::kBlas) return GemmBlas(x, w, bias, y, m, rows, k, n);
      return DotGemmAvx2(x, w, bias, y, m, rows, k, n);
    }
    if (IsBlockDType(o.w.dtype) && small_block) {
      if (int8_x && !o.w.exact_activations) return DotQuantAvx2(xq, o.w.Rows(j, rows), bias, y, m, n);
      return DotBlockF32Avx2(x, o.w.Rows(j, rows), bias, y, m, n);
    }
    if (!IsBlockDType(o.w.dtype) && fused) return DotWideningAvx2(x, o.w.Rows(j, rows), bias, y, m, n);
    thread_local std::vector<float> panel;
    const int64_t tile = WidenTileRows(m);
    for (int64_t t = 0; t < rows; t += tile) {
      const int64_t tr = std::min(tile, rows - t);
      panel.resize(static_cast<size_t>(tr * k));
      ConvertToF32(o.w.dtype, o.w.row(j + t), panel.data(), static_cast<size_t>(tr * k));
      const float* tb = bias ? bias + t : nullptr;
      if (f32_kernel == LinearKernel::kBlas) {
        GemmBlas(x, panel.data(), tb, y + t, m, tr, k, n);
      } else {
        DotGemmAvx2(x, panel.data(), tb, y + t, m, tr, k, n);
      }
    }
  };
  // Below ~64K multiply-adds a team costs more than it saves.
  const int threads = m * total * k < (int64_t{1} << 16) ? 1 : num_threads;
  // One split of the outputs' rows laid end to end: each thread owns a contiguous range.
  ParallelRanges(threads, total, /*align=*/16, /*min_chunk=*/16, [&](int64_t b, int64_t e) {
    int64_t offset = 0;
    for (const LinearOutput& o : outputs) {
      const int64_t lo = std::max(b, offset), hi = std::min(e, offset + o.w.rows);
      if (lo < hi) run(o, lo - offset, hi - lo);
      offset += o.w.rows;
    }
  });
}

}  // namespace attnserve::cpu

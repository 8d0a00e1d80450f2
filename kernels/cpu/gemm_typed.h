// Linear with weights in a narrow dtype (bf16, f16, or a block dtype: q8_0, q4_0, q4_1, q5_0, q5_1) for the CPU backend: the fused
// AVX2 kernels for small m (decode, where the weight bytes read are the cost) and the parallel
// driver that also covers large m (prefill) by widening tiles of the weight to f32 and running
// the f32 kernels of kernels/cpu/gemm.h on them. See docs/benchmarks.md ("Weight dtypes").
#pragma once

#include <cstdint>
#include <span>

#include "kernels/linear_output.h"
#include "kernels/weight_matrix.h"

namespace attnserve::cpu {

// x quantized to q8_0-like blocks for the integer dot products: per row of k (k % 32 == 0),
// k/32 blocks of int8 qs[32] with an f32 scale (f32, not f16 as in ggml: one rounding less).
struct QuantizedRows {
  const int8_t* qs = nullptr;  // int8[m, k]
  const float* d = nullptr;    // f32[m, k / 32]
  int64_t k = 0;
};

// qs int8[m, k], d f32[m, k/32] = x f32[m, k] quantized per 32-block: d = max|x| / 127,
// q = round-to-nearest-even(x / d). k % 32 == 0.
void QuantizeRowsQ8(const float* x, int64_t m, int64_t k, int8_t* qs, float* d);

// Fused kernels, single-threaded: y f32[m, w.rows] (row stride ldy) = x · w^T (+ bias f32[w.rows]).
// bf16 / f16 weights with f32 x (exact products, f32 accumulation):
void DotWideningAvx2(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m,
                     int64_t ldy);
// block-dtype weights with x quantized (QuantizeRowsQ8): integer block dots, f32 accumulation.
void DotQuantAvx2(const QuantizedRows& xq, const WeightMatrix& w, const float* bias, float* y,
                  int64_t m, int64_t ldy);

// Block-dtype weights with exact f32 x (each block decoded in registers; no int8 rounding of x):
// --quantize_activations=false and exact_activations matrices below kInt8FusedMaxRows.
void DotBlockF32Avx2(const float* x, const WeightMatrix& w, const float* bias, float* y, int64_t m,
                     int64_t ldy);

// Rows below which the fused kernels run; at and above, tiles of w are widened to f32 exactly
// and go through the f32 kernels. Measured with attnserve-bench-weight-dtypes (docs/benchmarks.md,
// "Weight dtypes"): bf16 fused is faster than widened tiles at m = 16 and equal at m = 64; the
// int8 block dot (one x row at a time) loses to widened tiles from m = 16 on.
inline constexpr int64_t kWideningFusedMaxRows = 64;  // bf16 / f16
inline constexpr int64_t kInt8FusedMaxRows = 8;       // block dtypes with quantized activations

// Parallel Linears over num_threads OpenMP threads, weights of any dtype, all sharing x f32[m, k]
// (every outputs[i].w.cols == k): outputs[i].y f32[m, w.rows] = x · w^T (+ bias). The outputs'
// rows are laid end to end and split once, so each thread owns a contiguous block of weight rows
// (each read from memory once per call) and x is quantized once for all block-dtype outputs. A
// single f32 output goes to LinearParallel (kernels/cpu/gemm.h). quantize_activations: q8_0 /
// q4_0 outputs at m < kInt8FusedMaxRows use DotQuantAvx2 (x as int8 blocks); false: they are
// widened to f32 tiles as at large m (exact).
void LinearMultiParallel(int num_threads, bool quantize_activations, const float* x, int64_t m,
                         std::span<const LinearOutput> outputs);

}  // namespace attnserve::cpu

// Linear (y = x·wᵀ + b) for the CPU backend: the single-threaded kernels and the parallel driver that
// picks one and splits the work. Kernel choice is measured, not guessed: see docs/benchmarks.md
// ("Kernels: matmul vs FMA peak, GEMV vs bandwidth") and bench/bench_kernels.cc.
#pragma once

#include <cstdint>

namespace attnserve::cpu {

// All kernels: y f32[m, n] with row stride ldy = x f32[m, k] · w f32[n, k]^T (+ bias f32[n] when
// non-null). Single-threaded; the caller partitions m or n across threads. y must not alias x or w.

// Own AVX2+FMA GEMM: packed A/B panels, 6x16 register tile (the BLIS Haswell layout).
void GemmAvx2(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy);

// Own AVX2+FMA GEMV for small m (decode): streams each weight row once, reusing it for all m rows.
void GemvAvx2(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy);

// Own AVX2+FMA dot-tile kernel for decode and batched decode (m = 1..~128): 4x3 register tiles of
// x rows × w rows (1x8 at m = 1) straight from the HF layout, no packing; w streams from memory once
// per call with the next tile prefetched. See kernels/cpu/gemm_dot_avx2.cc.
void DotGemmAvx2(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
                 int64_t k, int64_t ldy);

// OpenBLAS cblas_sgemm on the calling thread (OpenBLAS' own pool is kept at one thread).
void GemmBlas(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy);

// Sets OpenBLAS' internal thread count when the linked BLAS is OpenBLAS (no-op otherwise).
void SetBlasThreads(int num_threads);

enum class LinearKernel { kAuto, kOwnGemm, kOwnGemv, kOwnDot, kBlas };

// The measured choice for a shape (what kAuto resolves to).
LinearKernel ChooseLinearKernel(int64_t m, int64_t n, int64_t k);

// Parallel Linear over num_threads OpenMP threads: splits n (or m when n is small) into contiguous
// blocks and runs `kernel` on each. Same tensors as the kernels above with ldy = n.
void LinearParallel(LinearKernel kernel, int num_threads, const float* x, const float* w,
                    const float* bias, float* y, int64_t m, int64_t n, int64_t k);

}  // namespace attnserve::cpu

// attnserve-bench-kernels: the CPU kernels against this machine's own limits, measured in one run.
//   1. Roofline: FMA peak (register-only FMA chains; AVX2 and, where present, AVX-512) on 1 and all
//      threads; read bandwidth (streaming sum over a 1 GiB buffer) on 1 and all threads.
//   2. Linear at prefill shapes: own AVX2 GEMM vs OpenBLAS (single-threaded BLAS inside our OpenMP
//      split, and BLAS' own threading), as GFLOP/s and frac_peak (of the FMA peak measured at start).
//   3. Decode Linear (m = 1, 4): own dot-tile kernel and GEMV vs OpenBLAS, as GB/s and frac_bw of
//      the measured read bandwidth. Weights rotate through a 320 MiB pool so they come from DRAM.
//   4. Batched decode (continuous batching, m = 1..64) over the ~100M model's Linear shapes: the
//      chosen path ("auto") and the choice before the dot-tile kernel ("before"), as time and as
//      the ratio to the m = 1 time measured alternately in the same benchmark; then the dot-tile
//      kernel and OpenBLAS at m = 64..384 (the crossover), weights from DRAM.
// Linear counters come from the fastest iteration and peaks from the best of several tries, so a
// neighbour stealing a core for a moment does not skew a ratio.
// Results and the kernel decision live in docs/benchmarks.md. Usage: attnserve-bench-kernels
// [--threads=N] [google-benchmark flags, e.g. --benchmark_filter=Gemv].
#include <benchmark/benchmark.h>
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench/fma_peak.h"
#include "bench/memory_bandwidth.h"
#include "kernels/cpu/gemm.h"

namespace attnserve {
namespace {

using bench::BestRate;
using bench::ReadPass;

int g_threads = 0;           // all cores unless --threads
double g_peak_gflops[2];     // [0] 1 thread, [1] all threads (AVX2 FMA)
double g_bandwidth_gbs[2];   // [0] 1 thread, [1] all threads

// ---- 1. Roofline ---------------------------------------------------------------------------
// 12 independent FMA chains (> latency x throughput = 4 x 2) per thread; returns a sink value.
constexpr int64_t kFmaIters = int64_t{1} << 22;
constexpr double kFlopsPerIterAvx2 = 12 * 8 * 2;

// The AVX2 loop is bench/fma_peak.h's FmaChains (shared with attnserve-bench-attention).

__attribute__((target("avx512f"))) float FmaLoopAvx512(int64_t iters) {
  __m512 a[12];
  for (int i = 0; i < 12; ++i) a[i] = _mm512_set1_ps(1.0f + i);
  const __m512 mul = _mm512_set1_ps(0.9999999f), add = _mm512_set1_ps(1e-7f);
  for (int64_t it = 0; it < iters; ++it) {
#pragma GCC unroll 12
    for (int i = 0; i < 12; ++i) a[i] = _mm512_fmadd_ps(a[i], mul, add);
  }
  alignas(64) float lanes[16];
  float s = 0;
  for (int i = 0; i < 12; ++i) {  // one lane of every chain keeps all chains live
    _mm512_store_ps(lanes, a[i]);
    s += lanes[0];
  }
  return s;
}

// GFLOP per call of `loop` on `threads` threads.
template <class Loop>
double RunFma(int threads, Loop loop, double flops_per_iter) {
  float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
  sink += loop(kFmaIters);
  benchmark::DoNotOptimize(sink);
  return threads * kFmaIters * flops_per_iter * 1e-9;
}

void MeasureRoofline() {
  // All-core runs stop early once they reach 97% of threads x the one-core figure (FMA units are
  // per core; on a quiet machine that is what they reach), else keep the best of 40 tries.
  g_peak_gflops[0] = BestRate(10, 1e30, [] { return RunFma(1, bench::FmaChains, kFlopsPerIterAvx2); });
  g_peak_gflops[1] = BestRate(40, 0.97 * g_threads * g_peak_gflops[0],
                              [] { return RunFma(g_threads, bench::FmaChains, kFlopsPerIterAvx2); });
  g_bandwidth_gbs[0] = BestRate(4, 1e30, [] { return ReadPass(1); });
  g_bandwidth_gbs[1] = BestRate(6, 1e30, [] { return ReadPass(g_threads); });
  benchmark::AddCustomContext("threads", std::to_string(g_threads));
  benchmark::AddCustomContext("fma_peak_gflops_1t", std::to_string(g_peak_gflops[0]));
  benchmark::AddCustomContext("fma_peak_gflops_all", std::to_string(g_peak_gflops[1]));
  benchmark::AddCustomContext("read_bw_gbs_1t", std::to_string(g_bandwidth_gbs[0]));
  benchmark::AddCustomContext("read_bw_gbs_all", std::to_string(g_bandwidth_gbs[1]));
  benchmark::AddCustomContext("openblas_core", openblas_get_corename());
}

void BM_FmaPeak(benchmark::State& st, bool avx512) {
  const int threads = int(st.range(0));
  double gflop = 0;
  for (auto _ : st) {
    gflop += avx512 ? RunFma(threads, FmaLoopAvx512, 2 * kFlopsPerIterAvx2)
                    : RunFma(threads, bench::FmaChains, kFlopsPerIterAvx2);
  }
  st.counters["GFLOPs"] = benchmark::Counter(gflop, benchmark::Counter::kIsRate);
}

void BM_ReadBandwidth(benchmark::State& st) {
  double gb = 0;
  for (auto _ : st) gb += ReadPass(int(st.range(0)));
  st.counters["GBs"] = benchmark::Counter(gb, benchmark::Counter::kIsRate);
  st.counters["frac_bw"] = benchmark::Counter(gb / g_bandwidth_gbs[1], benchmark::Counter::kIsRate);
}

// ---- 2./3. Linear ---------------------------------------------------------------------------
enum class Impl { kOwnGemm, kOwnGemv, kOwnDot, kBlasInOmp, kBlasThreads, kBlasSgemv, kAuto };

std::vector<float> Random(int64_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  std::vector<float> v(n);
  for (float& f : v) f = d(gen);
  return v;
}

// y f32[m, n] = x f32[m, k] · w f32[n, k]^T with the given implementation on `threads` threads.
void RunLinear(Impl impl, int threads, const float* x, const float* w, float* y, int64_t m,
               int64_t n, int64_t k) {
  switch (impl) {
    case Impl::kOwnGemm: return cpu::LinearParallel(cpu::LinearKernel::kOwnGemm, threads, x, w, nullptr, y, m, n, k);
    case Impl::kOwnGemv: return cpu::LinearParallel(cpu::LinearKernel::kOwnGemv, threads, x, w, nullptr, y, m, n, k);
    case Impl::kOwnDot: return cpu::LinearParallel(cpu::LinearKernel::kOwnDot, threads, x, w, nullptr, y, m, n, k);
    case Impl::kBlasInOmp: return cpu::LinearParallel(cpu::LinearKernel::kBlas, threads, x, w, nullptr, y, m, n, k);
    case Impl::kAuto: return cpu::LinearParallel(cpu::LinearKernel::kAuto, threads, x, w, nullptr, y, m, n, k);
    case Impl::kBlasThreads:
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(k), 1.0f, x, int(k),
                  w, int(k), 0.0f, y, int(n));
      return;
    case Impl::kBlasSgemv:  // m == 1 only
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(n), int(k), 1.0f, w, int(k), x, 1, 0.0f, y, 1);
      return;
  }
}

// Seconds one call of fn takes. Linear counters use the best iteration (the machine is shared).
template <class Fn>
double TimeOnce(Fn&& fn) {
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Args: m, n, k, threads (0 = all). Prefill shapes: FLOP-bound, reported against the FMA peak.
void BM_LinearPrefill(benchmark::State& st, Impl impl) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  const int threads = st.range(3) > 0 ? int(st.range(3)) : g_threads;
  const auto x = Random(m * k, 1), w = Random(n * k, 2);
  std::vector<float> y(m * n);
  cpu::SetBlasThreads(impl == Impl::kBlasThreads ? threads : 1);
  double best = 1e30;
  for (auto _ : st) {
    best = std::min(best, TimeOnce([&] { RunLinear(impl, threads, x.data(), w.data(), y.data(), m, n, k); }));
  }
  cpu::SetBlasThreads(1);
  const double gflops = 2.0 * m * n * k * 1e-9 / best;
  st.counters["GFLOPs"] = gflops;
  st.counters["frac_peak"] = gflops / g_peak_gflops[threads == 1 ? 0 : 1];
}

// Decode weights: one pool of 320 MiB of random floats; a call on shape (n, k) takes the next
// n·k-float window of it, so weights always come from DRAM (as in serving, where a decode step
// reads ~300 MB of weights), and no benchmark pays for allocating its own copies.
const float* WeightPool(int64_t* floats) {
  static const int64_t n = (int64_t{320} << 20) / 4;
  static const float* pool = [] {
    float* p = static_cast<float*>(std::aligned_alloc(64, n * 4));
    uint32_t s = 12345;  // xorshift: fast to fill, values in [-1, 1)
#pragma omp parallel for schedule(static) firstprivate(s)
    for (int64_t i = 0; i < n; ++i) {
      uint32_t v = s ^ uint32_t(i * 2654435761u);
      v ^= v << 13, v ^= v >> 17, v ^= v << 5;
      p[i] = float(int32_t(v)) * (1.0f / 2147483648.0f);
    }
    return p;
  }();
  *floats = n;
  return pool;
}

// Args: m, n, k. Decode shapes: memory-bound; weights rotate through the pool so they are cold.
void BM_LinearDecode(benchmark::State& st, Impl impl) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  int64_t pool_floats;
  const float* pool = WeightPool(&pool_floats);
  const int64_t windows = pool_floats / (n * k);
  const auto x = Random(m * k, 1);
  std::vector<float> y(m * n);
  cpu::SetBlasThreads(impl == Impl::kBlasThreads || impl == Impl::kBlasSgemv ? g_threads : 1);
  int64_t c = 0;
  double best = 1e30;
  for (auto _ : st) {
    best = std::min(best, TimeOnce([&] { RunLinear(impl, g_threads, x.data(), pool + c * n * k, y.data(), m, n, k); }));
    c = (c + 1) % windows;
  }
  cpu::SetBlasThreads(1);
  const double gbs = (n * k + m * k + m * n) * 4e-9 / best;
  st.counters["GBs"] = gbs;
  st.counters["frac_bw"] = gbs / g_bandwidth_gbs[g_threads == 1 ? 0 : 1];
}

// ---- 4. Batched decode (continuous batching: m = 1..64 rows per step) ------------------------
// What the backend chose for each m before the dot-tile kernel (GEMV m <= 8, own GEMM < 64, BLAS).
cpu::LinearKernel BeforeKernel(int64_t m) {
  if (m <= 8) return cpu::LinearKernel::kOwnGemv;
  return m < 64 ? cpu::LinearKernel::kOwnGemm : cpu::LinearKernel::kBlas;
}

// Args: m, n, k. Each iteration times one m = 1 call (the kAuto path) and one m-row call of
// `kernel` (kAuto: the backend's choice; "before": the pre-dot-tile choice) on fresh weight windows,
// alternately, so `ratio` = best m-row time / best m = 1 time comes from the same moments.
void BM_BatchedDecode(benchmark::State& st, int kernel_id) {
  const int64_t m = st.range(0), n = st.range(1), k = st.range(2);
  int64_t pool_floats;
  const float* pool = WeightPool(&pool_floats);
  const int64_t windows = pool_floats / (n * k);
  const auto x = Random(m * k, 1);
  std::vector<float> y(m * n);
  const cpu::LinearKernel kernel =
      kernel_id < 0 ? BeforeKernel(m) : static_cast<cpu::LinearKernel>(kernel_id);
  cpu::SetBlasThreads(1);  // as in the backend: OpenMP is the only thread pool
  int64_t c = 0;
  double best1 = 1e30, best = 1e30;
  for (auto _ : st) {
    best1 = std::min(best1, TimeOnce([&] {
      cpu::LinearParallel(cpu::LinearKernel::kAuto, g_threads, x.data(), pool + c * n * k, nullptr,
                          y.data(), 1, n, k);
    }));
    c = (c + 1) % windows;
    best = std::min(best, TimeOnce([&] {
      cpu::LinearParallel(kernel, g_threads, x.data(), pool + c * n * k, nullptr, y.data(), m, n, k);
    }));
    c = (c + 1) % windows;
  }
  st.counters["us"] = best * 1e6;
  st.counters["us_m1"] = best1 * 1e6;
  st.counters["ratio"] = best / best1;
  st.counters["GFLOPs"] = 2.0 * m * n * k * 1e-9 / best;
  st.counters["GBs"] = (n * k + m * k + m * n) * 4e-9 / best;
}

void RegisterAll() {
  for (int t : {1, g_threads}) {
    benchmark::RegisterBenchmark("FmaPeak/avx2", BM_FmaPeak, false)->Arg(t)->UseRealTime();
    if (__builtin_cpu_supports("avx512f")) {
      benchmark::RegisterBenchmark("FmaPeak/avx512", BM_FmaPeak, true)->Arg(t)->UseRealTime();
    }
    benchmark::RegisterBenchmark("ReadBandwidth", BM_ReadBandwidth)->Arg(t)->UseRealTime();
  }
  const std::pair<Impl, const char*> prefill_impls[] = {
      {Impl::kOwnGemm, "own_gemm"}, {Impl::kBlasInOmp, "blas_in_omp"}, {Impl::kBlasThreads, "blas_threads"},
      {Impl::kOwnDot, "own_dot"}};  // the dot-tile kernel at m = 64 only (chosen below m = 128)
  const int64_t nk[][2] = {{768, 768}, {3072, 768}, {768, 3072}, {32000, 768}};
  for (const auto& [impl, label] : prefill_impls) {
    auto* b = benchmark::RegisterBenchmark((std::string("LinearPrefill/") + label).c_str(),
                                           BM_LinearPrefill, impl);
    b->ArgNames({"m", "n", "k", "threads"})->UseRealTime()->Unit(benchmark::kMillisecond)->MinTime(0.2);
    for (const auto& [n, k] : nk) {
      for (int64_t m : {64, 512, 2048}) {
        if (n * m <= int64_t{32000} * 512 && (impl != Impl::kOwnDot || m == 64)) b->Args({m, n, k, 0});
      }
    }
    if (impl != Impl::kOwnDot) b->Args({512, 3072, 768, 1});  // one core, against the one-core peak
  }
  // m = 1 and 4 here; m = 1..64 on the ~100M model's shapes in the batched-decode series below.
  const std::pair<Impl, const char*> decode_impls[] = {
      {Impl::kOwnDot, "own_dot"}, {Impl::kOwnGemv, "own_gemv"}, {Impl::kBlasInOmp, "blas_in_omp"},
      {Impl::kBlasThreads, "blas_threads"}, {Impl::kBlasSgemv, "blas_sgemv"}};
  for (const auto& [impl, label] : decode_impls) {
    auto* b = benchmark::RegisterBenchmark((std::string("LinearDecode/") + label).c_str(),
                                           BM_LinearDecode, impl);
    b->ArgNames({"m", "n", "k"})->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(0.1);
    for (const auto& [n, k] : nk) {
      for (int64_t m : {1, 4}) {
        if (impl != Impl::kBlasSgemv || m == 1) b->Args({m, n, k});
      }
    }
  }
  // Batched decode over the ~100M model's Linear shapes: the chosen path and the one before it at
  // every m; the dot-tile kernel and OpenBLAS around the crossover.
  const int64_t model_nk[][2] = {{768, 768}, {256, 768}, {1280, 768}, {768, 1280}, {32000, 768}};
  const std::pair<int, const char*> batched_impls[] = {
      {int(cpu::LinearKernel::kAuto), "auto"}, {-1, "before"}};
  for (const auto& [id, label] : batched_impls) {
    auto* b = benchmark::RegisterBenchmark((std::string("BatchedDecode/") + label).c_str(),
                                           BM_BatchedDecode, id);
    b->ArgNames({"m", "n", "k"})->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(0.15);
    for (const auto& [n, k] : model_nk) {
      for (int64_t m : {1, 2, 4, 8, 16, 32, 64}) b->Args({m, n, k});
    }
  }
  const std::pair<int, const char*> crossover_impls[] = {
      {int(cpu::LinearKernel::kOwnDot), "own_dot"}, {int(cpu::LinearKernel::kBlas), "blas_in_omp"}};
  for (const auto& [id, label] : crossover_impls) {
    auto* b = benchmark::RegisterBenchmark((std::string("BatchedCrossover/") + label).c_str(),
                                           BM_BatchedDecode, id);
    b->ArgNames({"m", "n", "k"})->UseRealTime()->Unit(benchmark::kMicrosecond)->MinTime(0.15);
    for (const auto& [n, k] : model_nk) {
      if (n > 1280) continue;  // the 32000-row lm_head takes ~0.1 s per call here
      for (int64_t m : {64, 128, 192, 256, 384}) b->Args({m, n, k});
    }
  }
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  attnserve::g_threads = omp_get_max_threads();
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) attnserve::g_threads = std::atoi(argv[i] + 10);
  }
  benchmark::Initialize(&argc, argv);
  attnserve::MeasureRoofline();
  attnserve::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// attnserve-bench-attention: how one attention layer of the ~100M model (12 query heads, 4 KV
// heads, head_dim 64, KV blocks of 16 tokens, scale 1/8) scales with the context n, per softmax
// mask, on the CPU backend (Backend::PagedAttention through a shuffled block table):
//   prefill          all n queries against n keys (num_q = num_kv = n)
//   chunked prefill  the same n queries in chunks of --chunk (num_q = chunk, num_kv growing), as
//                    the engine's scheduler runs a long prompt
//   decode           one query against n keys; steps rotate through block tables over a 2 x 160 MiB
//                    pool so every step reads K/V from DRAM, as in serving (other layers' K/V and
//                    weights evict it between steps)
//   BLAS reference   full causal attention only, n <= --blas_max_n: per (head, block of --chunk
//                    queries) S = Q·Kᵀ and O = P·V with cblas_sgemm on the causal part (keys up to
//                    the block's last query), masked softmax in between; OpenBLAS single-threaded
//                    inside an OpenMP split over (head, block): the kernels' thread model.
// Full prefill is reported as GFLOP/s of useful causal work (4·head_dim·heads·n(n+1)/2), as a
// fraction of the nominal FMA peak, and as a fraction of the peak of the cores the process actually
// got (process CPU time / wall time; on a shared VM a neighbour can hold part of a core); decode
// as GB/s of visible K/V rows read and as a fraction of the read bandwidth measured at the start.
// Quest, Performer and ELU+1 rows run their own methods (bench/attention_bench_methods.h).
// Each timing is the minimum of --reps runs (prefill runs longer than 4 s are timed once). Rows
// of the mask table are one entry each (MaskTable() below). On a shared VM, bind the OpenMP team
// to separate cores (with libgomp's spin-wait, two threads stacked on one core lose a scheduler
// tick per barrier):
//
//   OMP_PROC_BIND=spread OMP_PLACES=cores attnserve-bench-attention --json docs/attention_scaling.json
#include <cblas.h>
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_split.h"
#include "bench/attention_bench_methods.h"
#include "bench/bench_timing.h"
#include "bench/fma_peak.h"
#include "bench/memory_bandwidth.h"
#include "kernels/backend_registry.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/vec_math.h"

ABSL_FLAG(int64_t, min_n, 1024, "smallest context (doubling up to --max_n)");
ABSL_FLAG(int64_t, max_n, 32768, "largest context");
ABSL_FLAG(std::string, masks, "", "comma-separated mask rows to run (empty = all)");
ABSL_FLAG(int, threads, 0, "compute threads (0 = all cores)");
ABSL_FLAG(int, reps, 3, "timed repetitions; the minimum is reported");
ABSL_FLAG(int, decode_reps, 100, "timed decode steps; the minimum is reported");
ABSL_FLAG(int64_t, chunk, 512, "queries per chunk (chunked prefill and BLAS row blocks)");
ABSL_FLAG(bool, chunked, true, "also time prefill in --chunk query chunks");
ABSL_FLAG(int64_t, blas_max_n, 16384, "largest context for the BLAS reference (0 = none)");
ABSL_FLAG(double, peak_gflops, 0,
          "FMA peak of all threads on a quiet machine (0 = 113.3 GFLOP/s per thread); the peak "
          "available during the run is measured too");
ABSL_FLAG(double, bandwidth_gbs, 0, "read bandwidth of all threads (0 = measure)");
ABSL_FLAG(std::string, json, "", "write the results here as JSON");

namespace attnserve {
namespace {

using bench::Clock;
using bench::MinTime;
using bench::Seconds;

// The ~100M model's attention layer.
constexpr int64_t kHeads = 12, kKvHeads = 4, kHeadDim = 64, kBlockSize = 16;
constexpr int64_t kKvStride = kKvHeads * kHeadDim;
constexpr float kScale = 0.125f;

// One row of the benchmark table: a mask for context n (storage keeps what the mask points to).
struct MaskRow {
  const char* name;
  std::function<AttentionMask(int64_t n, std::vector<int32_t>& storage)> make;
  // Rows that are not a softmax mask: Quest (select, then attend) and linear attention.
  std::function<std::unique_ptr<bench::AttentionMethod>()> method = nullptr;
};

const std::vector<MaskRow>& MaskTable() {
  static const std::vector<MaskRow> table = {
      {"full", [](int64_t, std::vector<int32_t>&) { return AttentionMask{}; }},
      {"sliding_window",
       [](int64_t, std::vector<int32_t>&) {
         AttentionMask m;
         m.kind = MaskKind::kSlidingWindow;
         m.window = 512;
         return m;
       }},
      {"sinks",
       [](int64_t, std::vector<int32_t>&) {
         AttentionMask m;
         m.kind = MaskKind::kSinks;
         m.sink_tokens = 4;
         m.window = 508;
         return m;
       }},
      {"transformer_xl",
       [](int64_t, std::vector<int32_t>&) {
         AttentionMask m;
         m.kind = MaskKind::kSegments;
         m.segment_length = 256;
         m.memory_segments = 2;
         return m;
       }},
      {"longformer",
       [](int64_t, std::vector<int32_t>& global) {
         global.resize(16);
         std::iota(global.begin(), global.end(), 0);
         AttentionMask m;
         m.kind = MaskKind::kLongformer;
         m.window = 512;
         m.global_positions = global.data();
         m.num_global = int64_t(global.size());
         return m;
       }},
      {"bigbird",
       [](int64_t, std::vector<int32_t>&) {
         AttentionMask m;
         m.kind = MaskKind::kBigBird;
         m.block = 64;
         m.window_blocks = 3;
         m.global_blocks = 1;
         m.random_blocks = 3;
         m.seed = 1234;
         return m;
       }},
      {"quest", nullptr, [] { return bench::MakeQuestMethod(/*top_k_blocks=*/32, /*window=*/64); }},
      {"performer", nullptr, [] { return bench::MakeLinearMethod(FeatureMap::kFavorPositive, 256); }},
      {"elu_linear", nullptr, [] { return bench::MakeLinearMethod(FeatureMap::kEluPlusOne, kHeadDim); }},
  };
  return table;
}

void FillRandom(std::vector<float>& v, uint64_t seed) {
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < int64_t(v.size()); ++i) {
    uint64_t z = x + uint64_t(i) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 31)) * 0x94d049bb133111ebULL;
    v[i] = float(int64_t(z >> 40) - (int64_t{1} << 23)) * (1.0f / float(1 << 23));  // [-1, 1)
  }
}

// Causal attention of all n queries with cblas_sgemm, row blocks of `rb` queries per item:
//   q, out f32[n, kHeads, kHeadDim]; k, v f32[n, kKvStride] (contiguous).
void BlasCausalAttention(int threads, const float* q, const float* k, const float* v, float* out,
                         int64_t n, int64_t rb) {
  const int64_t blocks = (n + rb - 1) / rb, items = blocks * kHeads;
  const int64_t ldq = kHeads * kHeadDim, group = kHeads / kKvHeads;
#pragma omp parallel num_threads(threads)
  {
    std::vector<float> s(rb * n);  // f32[rows, keys]: scores, then probabilities
#pragma omp for schedule(dynamic, 1)
    for (int64_t item = 0; item < items; ++item) {
      const int64_t b = blocks - 1 - item / kHeads, h = item % kHeads;  // longest blocks first
      const int64_t r0 = b * rb, rows = std::min(rb, n - r0), keys = r0 + rows;
      const int64_t col = (h / group) * kHeadDim;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(rows), int(keys), int(kHeadDim),
                  kScale, q + r0 * ldq + h * kHeadDim, int(ldq), k + col, int(kKvStride), 0.0f,
                  s.data(), int(keys));
      for (int64_t i = 0; i < rows; ++i) {
        float* row = s.data() + i * keys;
        const int64_t visible = r0 + i + 1;
        __m256 mx = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
        int64_t t = 0;
        for (; t + 8 <= visible; t += 8) mx = _mm256_max_ps(mx, _mm256_loadu_ps(row + t));
        float m = cpu::HorizontalMax(mx);
        for (; t < visible; ++t) m = std::max(m, row[t]);
        __m256 sum = _mm256_setzero_ps();
        const __m256 vm = _mm256_set1_ps(m);
        for (t = 0; t + 8 <= visible; t += 8) {
          const __m256 e = cpu::Exp(_mm256_sub_ps(_mm256_loadu_ps(row + t), vm));
          _mm256_storeu_ps(row + t, e);
          sum = _mm256_add_ps(sum, e);
        }
        float z = cpu::HorizontalSum(sum);
        for (; t < visible; ++t) z += (row[t] = std::exp(row[t] - m));
        const __m256 inv = _mm256_set1_ps(1.0f / z);
        for (t = 0; t + 8 <= visible; t += 8)
          _mm256_storeu_ps(row + t, _mm256_mul_ps(_mm256_loadu_ps(row + t), inv));
        for (; t < visible; ++t) row[t] *= 1.0f / z;
        std::fill(row + visible, row + keys, 0.0f);
      }
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(rows), int(kHeadDim), int(keys),
                  1.0f, s.data(), int(keys), v + col, int(kKvStride), 0.0f,
                  out + r0 * ldq + h * kHeadDim, int(ldq));
    }
  }
}

// Keys the last query of a context of n sees under `mask` (for decode bytes read).
int64_t VisibleKeys(const AttentionMask& mask, int64_t n) {
  int64_t count = 0;
  for (int64_t t = 0; t < n; ++t) count += Visible(mask, 0, 0, kHeads, n - 1, t);
  return count;
}

struct Machine {
  int threads;
  double peak_gflops;      // nominal (quiet machine)
  double measured_gflops;  // FMA peak measured at the start of the run
  double bandwidth_gbs;
};

// Runs every selected mask row at context n; appends one JSON object per row to `rows`.
void RunContext(Backend& cpu, const Machine& machine, const std::vector<const MaskRow*>& masks,
                int64_t n, nlohmann::json& rows) {
  const int reps = absl::GetFlag(FLAGS_reps), chunk = int(absl::GetFlag(FLAGS_chunk));
  const int64_t blocks = (n + kBlockSize - 1) / kBlockSize, block_floats = kBlockSize * kKvStride;
  // One pool of >= 160 MiB each for K and V; every block table is a random choice of distinct pool
  // blocks (a fragmented pool), and decode rotates through kDecodeTables tables so the keys a
  // step reads (all of them, or only a window's) come from DRAM.
  constexpr int kDecodeTables = 64;
  const int64_t pool_blocks = std::max(blocks, (int64_t{160} << 20) / (block_floats * 4));
  std::vector<float> k_pool(pool_blocks * block_floats), v_pool(k_pool.size());
  FillRandom(k_pool, 1);
  FillRandom(v_pool, 2);
  std::vector<int32_t> all_blocks(pool_blocks);
  std::iota(all_blocks.begin(), all_blocks.end(), 0);
  std::mt19937 gen(7);
  std::vector<std::vector<int32_t>> tables(kDecodeTables);
  for (auto& table : tables) {
    std::shuffle(all_blocks.begin(), all_blocks.end(), gen);
    table.assign(all_blocks.begin(), all_blocks.begin() + blocks);
  }
  std::vector<float> q(n * kHeads * kHeadDim), out(q.size()), decode_out(kHeads * kHeadDim);
  FillRandom(q, 3);
  const PagedKvView view{k_pool.data(), v_pool.data(), tables[0].data(), kBlockSize};
  const AttentionShape prefill{n, n, kHeads, kKvHeads, kHeadDim, kKvStride, kScale};

  for (const MaskRow* row : masks) {
    if (row->method) {
      const bench::MethodLayer layer{kHeads, kKvHeads, kHeadDim, kKvStride, kBlockSize, kScale};
      nlohmann::json r = bench::RunMethodRow(cpu, *row->method(), row->name, layer, n, chunk, reps,
                                             absl::GetFlag(FLAGS_decode_reps), q, k_pool, v_pool,
                                             tables, machine.bandwidth_gbs);
      std::printf("%-15s %6lld  prefill %9.4f s  chunked %9.4f s  decode %8.3f ms\n", row->name,
                  (long long)n, r["prefill_s"].get<double>(), r["chunked_prefill_s"].get<double>(),
                  r["decode_s"].get<double>() * 1e3);
      rows.push_back(r);
      continue;
    }
    std::vector<int32_t> storage;
    const AttentionMask mask = row->make(n, storage);
    nlohmann::json r = {{"mask", row->name}, {"n", n}};
    double cores = 0;
    const double t_prefill = MinTime(
        reps, [&] { cpu.PagedAttention(q.data(), view, prefill, mask, out.data()); }, &cores);
    r["prefill_s"] = t_prefill;
    if (absl::GetFlag(FLAGS_chunked)) {
      r["chunked_prefill_s"] = MinTime(reps, [&] {
        for (int64_t c0 = 0; c0 < n; c0 += chunk) {
          const int64_t m = std::min<int64_t>(chunk, n - c0);
          const AttentionShape s{m, c0 + m, kHeads, kKvHeads, kHeadDim, kKvStride, kScale};
          cpu.PagedAttention(q.data() + c0 * kHeads * kHeadDim, view, s, mask,
                             out.data() + c0 * kHeads * kHeadDim);
        }
      });
    }
    // Decode: the last query, rotating through the block tables so K/V come from DRAM.
    const AttentionShape decode{1, n, kHeads, kKvHeads, kHeadDim, kKvStride, kScale};
    const float* q_last = q.data() + (n - 1) * kHeads * kHeadDim;
    double t_decode = std::numeric_limits<double>::infinity();
    for (int s = 0; s < absl::GetFlag(FLAGS_decode_reps); ++s) {
      const PagedKvView rotated{k_pool.data(), v_pool.data(), tables[s % kDecodeTables].data(),
                                kBlockSize};
      const auto t0 = Clock::now();
      cpu.PagedAttention(q_last, rotated, decode, mask, decode_out.data());
      t_decode = std::min(t_decode, Seconds(t0));
    }
    r["decode_s"] = t_decode;
    const double kv_bytes = double(VisibleKeys(mask, n)) * kKvStride * 4 * 2;
    r["decode_kv_bytes"] = kv_bytes;
    r["decode_gbs"] = kv_bytes / t_decode * 1e-9;
    r["decode_frac_bw"] = kv_bytes / t_decode * 1e-9 / machine.bandwidth_gbs;
    if (std::string(row->name) == "full") {
      const double flop = 4.0 * kHeadDim * kHeads * double(n) * double(n + 1) / 2;
      r["prefill_gflops"] = flop / t_prefill * 1e-9;
      r["prefill_frac_peak"] = flop / t_prefill * 1e-9 / machine.peak_gflops;
      r["prefill_frac_measured_peak"] = flop / t_prefill * 1e-9 / machine.measured_gflops;
      r["prefill_cores_used"] = cores;
      r["prefill_frac_peak_of_cores_used"] =
          flop / t_prefill * 1e-9 / (machine.peak_gflops / machine.threads * cores);
      if (n <= absl::GetFlag(FLAGS_blas_max_n)) {
        std::vector<float> k(n * kKvStride), v(n * kKvStride), ref(q.size());
        for (int64_t t = 0; t < n; ++t) {  // the same keys/values, contiguous
          const int64_t src = (tables[0][t / kBlockSize] * kBlockSize + t % kBlockSize) * kKvStride;
          std::copy_n(&k_pool[src], kKvStride, &k[t * kKvStride]);
          std::copy_n(&v_pool[src], kKvStride, &v[t * kKvStride]);
        }
        const double t_blas = MinTime(reps, [&] {
          BlasCausalAttention(machine.threads, q.data(), k.data(), v.data(), ref.data(), n, chunk);
        });
        double max_diff = 0;  // out holds the (chunked) prefill of the same queries
        for (size_t i = 0; i < ref.size(); ++i)
          max_diff = std::max(max_diff, double(std::fabs(ref[i] - out[i])));
        r["blas_prefill_s"] = t_blas;
        r["blas_gflops"] = flop / t_blas * 1e-9;
        r["flash_over_blas"] = t_prefill / t_blas;
        r["blas_max_abs_diff"] = max_diff;
      }
    }
    std::printf("%-15s %6lld  prefill %9.4f s", row->name, (long long)n, t_prefill);
    if (r.contains("chunked_prefill_s"))
      std::printf("  chunked %9.4f s", r["chunked_prefill_s"].get<double>());
    std::printf("  decode %8.3f ms (%5.1f GB/s, %.2f bw)", t_decode * 1e3,
                r["decode_gbs"].get<double>(), r["decode_frac_bw"].get<double>());
    if (r.contains("prefill_frac_peak"))
      std::printf("  %6.1f GFLOP/s (%.2f peak; %.2f cores used: %.2f of their peak)",
                  r["prefill_gflops"].get<double>(), r["prefill_frac_peak"].get<double>(), cores,
                  r["prefill_frac_peak_of_cores_used"].get<double>());
    if (r.contains("blas_prefill_s"))
      std::printf("  BLAS %8.4f s  flash/BLAS %.2f", r["blas_prefill_s"].get<double>(),
                  r["flash_over_blas"].get<double>());
    std::printf("\n");
    std::fflush(stdout);
    rows.push_back(r);
  }
}

// About a second of small calls before timing: on a shared VM the OpenMP team can take a few
// hundred milliseconds to settle on separate cores (until then every barrier costs a time slice).
void Warmup(Backend& cpu) {
  const int64_t n = 2048;
  std::vector<float> k(n * kKvStride), v(n * kKvStride), q(kHeads * kHeadDim), out(q.size());
  FillRandom(k, 4);
  FillRandom(v, 5);
  FillRandom(q, 6);
  const int32_t block0 = 0;
  const PagedKvView view{k.data(), v.data(), &block0, n};
  const AttentionShape decode{1, n, kHeads, kKvHeads, kHeadDim, kKvStride, kScale};
  for (const auto t0 = Clock::now(); Seconds(t0) < 1.0;)
    cpu.PagedAttention(q.data(), view, decode, AttentionMask{}, out.data());
}

// Markdown table of the results (one line per mask and n).
void PrintTable(const nlohmann::json& rows) {
  std::printf(
      "\n| mask | n | prefill s | chunked s | decode ms | decode GB/s (frac bw) | "
      "GFLOP/s (frac peak; cores used, frac of their peak) | BLAS s | flash/BLAS |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const auto& r : rows) {
    auto num = [&](const char* key, double mult, const char* fmt) {
      char buf[64] = "—";
      if (r.contains(key)) std::snprintf(buf, sizeof buf, fmt, r[key].get<double>() * mult);
      return std::string(buf);
    };
    std::printf(
        "| %s | %lld | %s | %s | %s | %s (%s) | %s (%s; %s, %s) | %s | %s |\n",
        r["mask"].get<std::string>().c_str(), (long long)r["n"].get<int64_t>(),
        num("prefill_s", 1, "%.4f").c_str(), num("chunked_prefill_s", 1, "%.4f").c_str(),
        num("decode_s", 1e3, "%.3f").c_str(), num("decode_gbs", 1, "%.1f").c_str(),
        num("decode_frac_bw", 1, "%.2f").c_str(), num("prefill_gflops", 1, "%.1f").c_str(),
        num("prefill_frac_peak", 1, "%.2f").c_str(), num("prefill_cores_used", 1, "%.2f").c_str(),
        num("prefill_frac_peak_of_cores_used", 1, "%.2f").c_str(),
        num("blas_prefill_s", 1, "%.4f").c_str(), num("flash_over_blas", 1, "%.2f").c_str());
  }
}

int Main() {
  const int threads = absl::GetFlag(FLAGS_threads) > 0 ? absl::GetFlag(FLAGS_threads)
                                                       : std::max(1, omp_get_max_threads());
  cpu::SetBlasThreads(1);
  Machine machine{threads, absl::GetFlag(FLAGS_peak_gflops), 0, absl::GetFlag(FLAGS_bandwidth_gbs)};
  if (machine.peak_gflops <= 0) machine.peak_gflops = 113.3 * threads;
  machine.measured_gflops = bench::MeasureFmaPeakGflops(threads, 10);
  if (machine.bandwidth_gbs <= 0)
    machine.bandwidth_gbs = bench::MeasureReadBandwidthGBs(threads, 6);
  std::printf(
      "threads %d, FMA peak %.1f GFLOP/s nominal, %.1f measured now; read bandwidth %.1f GB/s\n",
      threads, machine.peak_gflops, machine.measured_gflops, machine.bandwidth_gbs);

  std::vector<const MaskRow*> masks;
  const std::string wanted = absl::GetFlag(FLAGS_masks);
  for (const MaskRow& row : MaskTable()) {
    bool use = wanted.empty();
    for (absl::string_view w : absl::StrSplit(wanted, ',', absl::SkipEmpty())) use |= w == row.name;
    if (use) masks.push_back(&row);
  }
  auto cpu = MakeBackend("cpu", {threads}).value();
  Warmup(*cpu);
  nlohmann::json rows = nlohmann::json::array();
  for (int64_t n = absl::GetFlag(FLAGS_min_n); n <= absl::GetFlag(FLAGS_max_n); n *= 2)
    RunContext(*cpu, machine, masks, n, rows);
  PrintTable(rows);

  nlohmann::json doc = {{"machine",
                         {{"threads", threads},
                          {"fma_peak_gflops", machine.peak_gflops},
                          {"fma_peak_gflops_measured", machine.measured_gflops},
                          {"read_bandwidth_gbs", machine.bandwidth_gbs}}},
                        {"layer",
                         {{"num_heads", kHeads},
                          {"num_kv_heads", kKvHeads},
                          {"head_dim", kHeadDim},
                          {"block_size", kBlockSize},
                          {"scale", kScale},
                          {"chunk", absl::GetFlag(FLAGS_chunk)}}},
                        {"rows", rows}};
  for (const auto& r : rows)
    if (r["mask"] == "full" && r["n"] == 8192 && r.contains("flash_over_blas"))
      doc["full_flash_over_blas_8k"] = r["flash_over_blas"];
  if (doc.contains("full_flash_over_blas_8k"))
    std::printf("\nfull prefill at 8k: flash / BLAS reference = %.2f\n",
                doc["full_flash_over_blas_8k"].get<double>());
  const std::string path = absl::GetFlag(FLAGS_json);
  if (!path.empty()) {
    std::ofstream(path) << doc.dump(2) << "\n";
    std::printf("wrote %s\n", path.c_str());
  }
  return 0;
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  return attnserve::Main();
}

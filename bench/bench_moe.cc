// attnserve-bench-moe: the MoE block (engine/moe/moe_block.h) against a dense SiLU-gated MLP with
// the same ACTIVE parameters (intermediate = top_k × expert intermediate), side by side in one
// run (docs/benchmarks.md). Weights always come from DRAM, as in a many-layer model: every timed
// call is preceded by a read of 96 MiB of other memory (3× this machine's LLC).
//   1. Steps of T = 64, 256, 1024 tokens: time(MoE: router + top-k + grouped experts + combine)
//      / time(dense), uniform routing (random hidden states and router) and skewed routing (the
//      router biased so one expert is picked by ~half the tokens).
//   2. Decode (T = 1): MoE vs dense-active vs a dense MLP with ALL experts' parameters (what a
//      naive implementation reads), as GB/s of the bytes each must read (the selected experts +
//      the router for the MoE) against the read bandwidth measured in the same run.
//   3. ExpertShards N = 1, 2 at T = 256: times, and the max |difference| of the output to N = 1.
// Variants of a row are timed alternately; each reports its minimum over a fixed number of
// repetitions in each of --rounds passes over all rows (a row's "cores used" is logged, and rows in
// which even the best-served variant got fewer cores than asked are marked "(contended)").
//
//   OMP_PROC_BIND=spread OMP_PLACES=cores attnserve-bench-moe --json docs/moe_bench.json
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/bench_timing.h"
#include "bench/memory_bandwidth.h"
#include "engine/config/model_config.h"
#include "engine/moe/expert_placement.h"
#include "engine/moe/expert_shards.h"
#include "engine/moe/moe_block.h"
#include "engine/moe/moe_router.h"
#include "kernels/backend_registry.h"

ABSL_FLAG(int, threads, 0, "compute threads (0 = all cores)");
ABSL_FLAG(int, reps, 10, "timed repetitions of each multi-token step; the minimum is reported");
ABSL_FLAG(int, decode_reps, 60, "timed decode steps of each variant; the minimum is reported");
ABSL_FLAG(int, rounds, 3,
          "passes over all rows; each variant reports its minimum over all rounds x reps (rounds "
          "spread a row's repetitions over the run, past a neighbour's burst of load)");
ABSL_FLAG(std::string, json, "", "write the results here as JSON");

namespace attnserve {
namespace {

using json = nlohmann::json;

struct Shape {
  std::string name;
  int64_t hidden, inter, experts, top_k;  // inter: one expert's intermediate size
  int64_t active_inter() const { return top_k * inter; }
  int64_t expert_floats() const { return 3 * hidden * inter; }
};

// Mixtral (4096 / 14336, E 8, k 2) and DeepSeek-MoE (2048 / 1408, E 64, k 6), scaled to 2 cores.
const Shape kShapes[] = {
    {"mixtral-like", 1024, 1408, 8, 2},
    {"deepseek-like", 1024, 384, 64, 6},
};
constexpr int64_t kTokenCounts[] = {64, 256, 1024};
constexpr int64_t kMaxTokens = 1024;

// ---- memory ------------------------------------------------------------------------------------
// One pool of random weights (values in [-1/32, 1/32)); every layer below is a view of it from
// offset 0 (values do not matter for time, and caches are evicted before each call).
const float* WeightPool(int64_t floats) {
  float* p = static_cast<float*>(std::aligned_alloc(64, ((floats * 4 + 63) / 64) * 64));
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < floats; ++i) {
    uint32_t v = 12345u ^ uint32_t(i * 2654435761u);
    v ^= v << 13, v ^= v >> 17, v ^= v << 5;
    p[i] = float(int32_t(v)) * (1.0f / 2147483648.0f / 32.0f);
  }
  return p;
}

// Reads the next 96 MiB window of the bandwidth buffer (one float per cache line).
void EvictCaches() {
  int64_t n;
  const float* p = bench::BandwidthBuffer(&n);
  static int64_t offset = 0;
  constexpr int64_t kLen = (int64_t{96} << 20) / 4;
  if (offset + kLen > n) offset = 0;
  float total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
  for (int64_t i = offset; i < offset + kLen; i += 16) total += p[i];
  offset += kLen;
  volatile float sink = total;
  (void)sink;
}

// ---- timing ------------------------------------------------------------------------------------
struct Timed {
  double seconds = std::numeric_limits<double>::infinity();
  double cores = 0;  // process CPU time / wall of the fastest call
};

// One untimed warm-up call of each, then `reps` rounds timing each once (caches evicted before).
std::vector<Timed> TimeAlternately(int reps, const std::vector<std::function<void()>>& fns) {
  std::vector<Timed> best(fns.size());
  for (const auto& f : fns) f();
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < fns.size(); ++i) {
      EvictCaches();
      const double cpu0 = bench::ProcessCpuSeconds();
      const auto t0 = bench::Clock::now();
      fns[i]();
      const double wall = bench::Seconds(t0);
      if (wall < best[i].seconds) best[i] = {wall, (bench::ProcessCpuSeconds() - cpu0) / wall};
    }
  }
  return best;
}

// The best of every variant of a row over all rounds so far (rows keyed by name).
std::vector<Timed> BestSoFar(const std::string& row, const std::vector<Timed>& t) {
  static std::map<std::string, std::vector<Timed>> best;
  std::vector<Timed>& b = best[row];
  if (b.empty()) b = t;
  for (size_t i = 0; i < t.size(); ++i) if (t[i].seconds < b[i].seconds) b[i] = t[i];
  return b;
}

// ---- the two layers ----------------------------------------------------------------------------
// Dense SiLU-gated MLP: gate, up f32[I, H]; down f32[H, I].
struct DenseMlp {
  const float *gate, *up, *down;
  int64_t H, I;
  std::vector<float> g, u;
  DenseMlp(const float* pool, int64_t hidden, int64_t inter)
      : gate(pool), up(pool + hidden * inter), down(pool + 2 * hidden * inter), H(hidden), I(inter) {}
  // h f32[T, H] -> out f32[T, H].
  void Forward(Backend& be, const float* h, int64_t T, float* out) {
    g.resize(T * I);
    u.resize(T * I);
    be.Linear(h, gate, nullptr, g.data(), T, I, H);
    be.Linear(h, up, nullptr, u.data(), T, I, H);
    be.SiluMul(g.data(), u.data(), g.data(), T * I);
    be.Linear(g.data(), down, nullptr, out, T, H, I);
  }
};

F32Tensor View(const float* data, int64_t rows, int64_t cols) {
  F32Tensor t;
  t.data = data;
  t.shape = {rows, cols};
  return t;
}

WeightTensor MatrixView(const float* data, int64_t rows, int64_t cols) {
  WeightTensor t;
  t.matrix = {DType::kF32, data, rows, cols};
  return t;
}

// MoE block: expert e's gate, up, down are consecutive in the pool; router f32[E, H] owned here.
struct MoeLayer {
  MoeSpec spec;
  MoeWeights w;
  std::vector<float> router;
  int64_t H;
  MoeBlock block;
  std::vector<int64_t> expert_tokens, shard_tokens;

  MoeLayer(const Shape& s, const float* pool, std::vector<float> router_weights)
      : router(std::move(router_weights)), H(s.hidden) {
    spec.naming = MoeSpec::Naming::kMixtral;
    spec.num_experts = s.experts;
    spec.top_k = s.top_k;
    spec.expert_intermediate_size = s.inter;
    spec.norm_topk_prob = true;
    w.router = View(router.data(), s.experts, s.hidden);
    for (int64_t e = 0; e < s.experts; ++e) {
      const float* base = pool + e * s.expert_floats();
      w.experts.push_back({MatrixView(base, s.inter, s.hidden), MatrixView(base + s.hidden * s.inter, s.inter, s.hidden),
                           MatrixView(base + 2 * s.hidden * s.inter, s.hidden, s.inter)});
    }
  }
  void Forward(Backend& be, ExpertShards& shards, const float* h, int64_t T, float* out) {
    expert_tokens.assign(spec.num_experts, 0);
    shard_tokens.assign(shards.num_shards(), 0);
    block.Forward(spec, w, H, h, T, be, shards, expert_tokens, shard_tokens, out);
  }
};

// ---- routing -----------------------------------------------------------------------------------
// Fraction of the T tokens that pick expert 0 when its logit is raised by `bias`.
double HotShare(const std::vector<float>& logits, int64_t T, int64_t E, int64_t k, float bias) {
  std::vector<float> l(logits.begin(), logits.begin() + T * E);
  for (int64_t t = 0; t < T; ++t) l[t * E] += bias;
  RoutingTable table;
  RouteTopK(l.data(), T, E, k, true, table);
  int64_t hot = 0;
  for (int32_t e : table.experts) hot += (e == 0);
  return double(hot) / T;
}

// Skewed routing: every token's feature 0 is set to 1 and router[0][0] += bias, which raises
// expert 0's logit by exactly `bias`; bisection finds the bias at which ~half the tokens pick it.
float CalibrateSkew(Backend& be, const std::vector<float>& h_skew, const std::vector<float>& router,
                    const Shape& s) {
  std::vector<float> logits(kMaxTokens * s.experts);
  be.Linear(h_skew.data(), router.data(), nullptr, logits.data(), kMaxTokens, s.experts, s.hidden);
  float lo = 0, hi = 64;
  for (int it = 0; it < 40; ++it) {
    const float mid = 0.5f * (lo + hi);
    (HotShare(logits, kMaxTokens, s.experts, s.top_k, mid) < 0.5 ? lo : hi) = mid;
  }
  return hi;
}

struct RoutingStats {
  double hot_token_share;   // tokens routed to the busiest expert / T
  int64_t min_rows, max_rows, experts_used;
};
RoutingStats Stats(const std::vector<int64_t>& expert_tokens, int64_t T) {
  RoutingStats r{0, std::numeric_limits<int64_t>::max(), 0, 0};
  for (int64_t n : expert_tokens) {
    r.max_rows = std::max(r.max_rows, n);
    if (n > 0) r.min_rows = std::min(r.min_rows, n);
    r.experts_used += (n > 0);
  }
  r.hot_token_share = double(r.max_rows) / T;
  return r;
}

// A table row in which even the best-served variant's fastest call got fewer cores than asked (a
// neighbour's load, not one variant's imbalance) is marked "(contended)".
std::string Flagged(const char* row, double max_cores, int threads) {
  const std::string r = row;  // ends in " |\n"
  if (max_cores >= 0.85 * threads) return r;
  return r.substr(0, r.size() - 3) + " (contended)" + r.substr(r.size() - 3);
}

// Over the first n floats.
double MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b, int64_t n) {
  double d = 0;
  for (int64_t i = 0; i < n; ++i) d = std::max(d, double(std::fabs(a[i] - b[i])));
  return d;
}

// ---- the three sections -------------------------------------------------------------------------
// Everything one shape's rows need: inputs (uniform and skewed routing), the layers, the shards.
struct ShapeRun {
  const Shape& s;
  Backend& be;
  int threads, reps, decode_reps;
  std::vector<float> h, h_skew;  // f32[kMaxTokens, hidden]; h_skew: feature 0 set to 1
  float skew_bias;
  std::unique_ptr<MoeLayer> uniform, skewed;
  std::unique_ptr<DenseMlp> dense, dense_all;
  std::unique_ptr<ExpertShards> one, two;

  ShapeRun(const Shape& shape, Backend& backend, const float* pool, int threads_, int reps_, int decode_reps_)
      : s(shape), be(backend), threads(threads_), reps(reps_), decode_reps(decode_reps_) {
    const int64_t H = s.hidden, E = s.experts;
    std::mt19937 rng(7);  // the same inputs every round
    std::normal_distribution<float> unit(0.0f, 1.0f), router_init(0.0f, 1.0f / std::sqrt(float(H)));
    std::vector<float> router(E * H);
    h.resize(kMaxTokens * H);
    for (float& x : h) x = unit(rng);
    for (float& x : router) x = router_init(rng);
    h_skew = h;
    for (int64_t t = 0; t < kMaxTokens; ++t) h_skew[t * H] = 1.0f;
    skew_bias = CalibrateSkew(be, h_skew, router, s);
    std::vector<float> router_skew = router;
    router_skew[0] += skew_bias;
    uniform = std::make_unique<MoeLayer>(s, pool, router);
    skewed = std::make_unique<MoeLayer>(s, pool, router_skew);
    dense = std::make_unique<DenseMlp>(pool, H, s.active_inter());
    dense_all = std::make_unique<DenseMlp>(pool, H, E * s.inter);
    one = std::make_unique<ExpertShards>(ContiguousPlacement(1, E).value(), threads, &be);
    two = std::make_unique<ExpertShards>(ContiguousPlacement(2, E).value(), threads, &be);
  }
  MoeLayer& moe(bool skew) { return skew ? *skewed : *uniform; }
  const float* input(bool skew) const { return skew ? h_skew.data() : h.data(); }
};

struct Report {
  json doc;
  std::string steps, decode, shards;  // Markdown tables
  double bandwidth;                   // best read bandwidth measured so far, GB/s
};

// 1. Steps of T tokens: dense vs MoeBlock (N = 1).
void StepRows(ShapeRun& r, Report& out) {
  const Shape& s = r.s;
  const int64_t H = s.hidden;
  std::vector<float> y_dense(kMaxTokens * H), y_moe(kMaxTokens * H);
  char buf[512];
  for (bool skew : {false, true}) {
    MoeLayer& moe = r.moe(skew);
    const float* x = r.input(skew);
    const char* routing = skew ? "skewed" : "uniform";
    for (int64_t T : kTokenCounts) {
      const auto t = BestSoFar(s.name + routing + std::to_string(T), TimeAlternately(r.reps, {
          [&] { r.dense->Forward(r.be, x, T, y_dense.data()); },
          [&] { moe.Forward(r.be, *r.one, x, T, y_moe.data()); }}));
      const RoutingStats st = Stats(moe.expert_tokens, T);
      const double flops = 2.0 * T * 3 * H * s.active_inter();
      const double ratio = t[1].seconds / t[0].seconds;
      const double dense_mb = 4e-6 * s.top_k * s.expert_floats(),
                   moe_mb = 4e-6 * (st.experts_used * s.expert_floats() + s.experts * H);
      std::snprintf(buf, sizeof buf,
                    "| %s | %s | %lld | %.0f%% | %lld-%lld | %.0f / %.0f | %.2f | %.2f | **%.2f** | "
                    "%.0f / %.0f |\n",
                    s.name.c_str(), routing, (long long)T, 100 * st.hot_token_share, (long long)st.min_rows,
                    (long long)st.max_rows, dense_mb, moe_mb, t[0].seconds * 1e3, t[1].seconds * 1e3, ratio,
                    flops / t[0].seconds * 1e-9, flops / t[1].seconds * 1e-9);
      out.steps += Flagged(buf, std::max(t[0].cores, t[1].cores), r.threads);
      std::printf("%s  (cores used: dense %.2f, MoE %.2f)\n", buf, t[0].cores, t[1].cores);
      out.doc["steps"].push_back(
          {{"shape", s.name}, {"routing", routing}, {"tokens", T}, {"hot_expert_token_share", st.hot_token_share},
           {"expert_rows_min", st.min_rows}, {"expert_rows_max", st.max_rows}, {"experts_used", st.experts_used},
           {"dense_weight_mb", dense_mb}, {"moe_weight_mb", moe_mb}, {"dense_s", t[0].seconds},
           {"moe_s", t[1].seconds}, {"moe_over_dense", ratio}, {"dense_cores", t[0].cores},
           {"moe_cores", t[1].cores}});
    }
  }
}

// 2. Decode: one token, a different one each call (so the selected experts change).
void DecodeRow(ShapeRun& r, Report& out) {
  const Shape& s = r.s;
  const int64_t H = s.hidden, E = s.experts;
  // The read bandwidth varies on a shared machine: the best of all measurements so far.
  out.bandwidth = std::max(out.bandwidth, bench::MeasureReadBandwidthGBs(r.threads, 5));
  std::vector<float> y(H);
  int64_t i_dense = 0, i_moe = 0, i_all = 0;
  std::set<int32_t> seen;
  const auto t = BestSoFar(s.name + "decode", TimeAlternately(r.decode_reps, {
      [&] { r.dense->Forward(r.be, &r.h[(i_dense++ % kMaxTokens) * H], 1, y.data()); },
      [&] {
        r.uniform->Forward(r.be, *r.one, &r.h[(i_moe++ % kMaxTokens) * H], 1, y.data());
        for (int64_t e = 0; e < E; ++e) if (r.uniform->expert_tokens[e]) seen.insert(int32_t(e));
      },
      [&] { r.dense_all->Forward(r.be, &r.h[(i_all++ % kMaxTokens) * H], 1, y.data()); }}));
  const double expert_bytes = 4.0 * s.expert_floats(), router_bytes = 4.0 * E * H;
  const double moe_bytes = s.top_k * expert_bytes + router_bytes, dense_bytes = s.top_k * expert_bytes,
               all_bytes = E * expert_bytes;
  const double moe_gbs = moe_bytes / t[1].seconds * 1e-9;
  char buf[512];
  std::snprintf(buf, sizeof buf, "| %s | %.3f | %.3f | %.3f | %.1f | %.2f | %.1f | %.1f | %.2f | %.2f | %.3f |\n",
                s.name.c_str(), t[0].seconds * 1e3, t[1].seconds * 1e3, t[2].seconds * 1e3, moe_gbs,
                moe_gbs / out.bandwidth, dense_bytes / t[0].seconds * 1e-9, all_bytes / t[2].seconds * 1e-9,
                t[1].seconds / t[0].seconds, t[1].seconds / t[2].seconds, moe_bytes / all_bytes);
  out.decode += buf;
  std::printf("decode: %s  (%zu distinct experts selected over the calls)\n", buf, seen.size());
  out.doc["decode"].push_back(
      {{"shape", s.name}, {"dense_active_s", t[0].seconds}, {"moe_s", t[1].seconds}, {"dense_all_s", t[2].seconds},
       {"moe_bytes", moe_bytes}, {"dense_active_bytes", dense_bytes}, {"all_experts_bytes", all_bytes},
       {"moe_gbs", moe_gbs}, {"bandwidth_gbs", out.bandwidth}, {"moe_fraction_of_bandwidth", moe_gbs / out.bandwidth},
       {"moe_over_dense_active", t[1].seconds / t[0].seconds}, {"moe_over_dense_all", t[1].seconds / t[2].seconds},
       {"distinct_experts_selected", seen.size()}});
}

// 3. Expert shards at 256 tokens: N = 1 (caller's backend) vs N = 2 (a worker per shard).
void ShardRows(ShapeRun& r, Report& out) {
  const Shape& s = r.s;
  const int64_t H = s.hidden, T = 256;
  char buf[512];
  for (bool skew : {false, true}) {
    MoeLayer& moe = r.moe(skew);
    const float* x = r.input(skew);
    const char* routing = skew ? "skewed" : "uniform";
    std::vector<std::vector<float>> y(2, std::vector<float>(T * H));
    const auto t = BestSoFar(s.name + routing + "shards", TimeAlternately(r.reps, {
        [&] { moe.Forward(r.be, *r.one, x, T, y[0].data()); },
        [&] { moe.Forward(r.be, *r.two, x, T, y[1].data()); }}));
    moe.Forward(r.be, *r.two, x, T, y[1].data());  // for its per-shard row counts
    const std::vector<int64_t> rows = moe.shard_tokens;
    double diff = 0;
    bool equal = true;
    for (int i = 1; i < 2; ++i) {
      diff = std::max(diff, MaxAbsDiff(y[0], y[i], T * H));
      equal = equal && std::memcmp(y[0].data(), y[i].data(), T * H * sizeof(float)) == 0;
    }
    std::snprintf(buf, sizeof buf,
                  "| %s | %s | %lld / %lld | %.2f | %.2f (%.2f) | %.3g | %s |\n",
                  s.name.c_str(), routing, (long long)rows[0], (long long)rows[1], t[0].seconds * 1e3,
                  t[1].seconds * 1e3, t[1].seconds / t[0].seconds, diff, equal ? "yes" : "no");
    out.shards += Flagged(buf, std::max(t[0].cores, t[1].cores), r.threads);
    std::printf("shards: %s  (cores used: N=1 %.2f, N=2 %.2f)\n", buf, t[0].cores, t[1].cores);
    out.doc["shards"].push_back(
        {{"shape", s.name}, {"routing", routing}, {"tokens", T}, {"shard_rows", rows}, {"n1_s", t[0].seconds},
         {"n2_s", t[1].seconds}, {"n2_over_n1", t[1].seconds / t[0].seconds}, {"max_abs_diff", diff},
         {"bitwise_equal", equal}, {"n1_cores", t[0].cores}, {"n2_cores", t[1].cores}});
  }
}

}  // namespace
}  // namespace attnserve

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace attnserve;
  const int threads = absl::GetFlag(FLAGS_threads) > 0 ? absl::GetFlag(FLAGS_threads) : omp_get_max_threads();
  const int reps = absl::GetFlag(FLAGS_reps), decode_reps = absl::GetFlag(FLAGS_decode_reps);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  std::unique_ptr<Backend> be = MakeBackend("cpu", {threads}).value();

  int64_t pool_floats = 0;
  for (const Shape& s : kShapes) pool_floats = std::max(pool_floats, s.experts * s.expert_floats());
  const float* pool = WeightPool(pool_floats);
  Report report;
  report.bandwidth = bench::MeasureReadBandwidthGBs(threads, 10);
  std::printf("threads %d, read bandwidth %.1f GB/s (measured now), weight pool %.0f MB\n", threads,
              report.bandwidth, pool_floats * 4e-6);

  for (int round = 1; round <= rounds; ++round) {  // the last round's tables hold the best of all
    std::printf("\n--- round %d of %d\n", round, rounds);
    report.doc = {{"threads", threads}, {"reps", reps}, {"decode_reps", decode_reps}, {"rounds", rounds},
                  {"steps", json::array()}, {"decode", json::array()}, {"shards", json::array()}};
    report.steps =
        "| shape | routing | tokens | busiest expert (share of tokens) | rows per used expert | "
        "weights read MB dense / MoE | dense ms | MoE ms | MoE / dense | GFLOP/s dense / MoE (active) |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    report.decode =
        "| shape | dense-active ms | MoE ms | dense-all ms | MoE GB/s (selected + router) | "
        "MoE / bandwidth | dense-active GB/s | dense-all GB/s | MoE / dense-active | MoE / dense-all | "
        "MoE bytes / all-experts bytes |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
    report.shards =
        "| shape | routing | rows per shard (N = 2) | N = 1 ms | N = 2 ms (/ N = 1) | max abs diff to N = 1 | "
        "bitwise equal |\n|---|---|---:|---:|---:|---:|---:|\n";
    for (const Shape& s : kShapes) {
      ShapeRun run(s, *be, pool, threads, reps, decode_reps);
      std::printf("%s: hidden %lld, %lld experts x intermediate %lld, top-%lld (dense: intermediate %lld); "
                  "skew bias %.2f\n",
                  s.name.c_str(), (long long)s.hidden, (long long)s.experts, (long long)s.inter,
                  (long long)s.top_k, (long long)s.active_inter(), run.skew_bias);
      StepRows(run, report);
      DecodeRow(run, report);
      ShardRows(run, report);
    }
  }
  report.doc["bandwidth_gbs"] = report.bandwidth;

  std::printf("\n### MoE step vs dense MLP with the same active parameters\n\n%s", report.steps.c_str());
  std::printf("\n### Decode (1 token), weights from DRAM (bandwidth %.1f GB/s)\n\n%s", report.bandwidth,
              report.decode.c_str());
  std::printf("\n### Expert shards, 256 tokens\n\n%s", report.shards.c_str());
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    if (FILE* f = std::fopen(path.c_str(), "w")) {
      std::fprintf(f, "%s\n", report.doc.dump(2).c_str());
      std::fclose(f);
    }
  }
  return 0;
}

// LinearAttention (ELU+1, FAVOR+) and its helpers (kernels/linear_attention.h):
//   - CPU vs reference: both feature maps, GQA 1/3/4, head_dim 16/64, m 16..256, outputs and state,
//     and states interchangeable between the two backends;
//   - chunk invariance: one call = 37+1+100+62 = 200 single-token calls;
//   - ELU+1 against a dense O(n²) double formula;
//   - FAVOR+ approximates exact causal softmax attention better as m grows;
//   - huge q/k norms stay finite; MakeFavorProjection is deterministic, block-orthogonal, chi(d) norms.
// Bounds are stated per test next to the assertion.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::RandomVector;

// f32[n] standard normal · sigma, deterministic for a seed (test inputs only).
std::vector<float> GaussianVector(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

struct Problem {
  LinearAttentionShape shape;   // num_tokens = the whole sequence
  std::vector<float> q, k, v;   // f32[n, heads, d]; f32[n, kv_stride] ×2
  std::vector<float> w;         // FAVOR+ projection f32[m, d] (empty for ELU+1)
};

Problem MakeProblem(FeatureMap map, int64_t n, int64_t heads, int64_t kv_heads, int64_t d,
                    int64_t m, int64_t pad, uint32_t seed, float qk_range = 1.0f) {
  Problem p;
  LinearAttentionShape& s = p.shape;
  s.num_tokens = n, s.num_heads = heads, s.num_kv_heads = kv_heads, s.head_dim = d;
  s.kv_stride = kv_heads * d + pad;
  s.scale = 1.0f / std::sqrt(float(d));
  s.feature_map = map;
  s.num_features = map == FeatureMap::kEluPlusOne ? d : m;
  p.q = RandomVector(n * heads * d, seed + 1, -qk_range, qk_range);
  p.k = RandomVector(n * s.kv_stride, seed + 2, -qk_range, qk_range);
  p.v = RandomVector(n * s.kv_stride, seed + 3);
  if (map == FeatureMap::kFavorPositive) {
    p.w.resize(m * d);
    MakeFavorProjection(m, d, seed + 4, p.w.data());
    s.projection = p.w.data();
  }
  return p;
}

std::vector<float> NewState(const LinearAttentionShape& s) {
  std::vector<float> state(LinearStateFloats(s.num_kv_heads, s.num_features, s.head_dim));
  LinearStateInit(state.data(), s.num_kv_heads, s.num_features, s.head_dim);
  return state;
}

// Runs tokens [first, first + sum(chunks)) as consecutive calls continuing `state`; returns the
// outputs f32[sum(chunks), heads, d].
std::vector<float> RunChunks(Backend& backend, const Problem& p, const std::vector<int64_t>& chunks,
                       std::vector<float>& state, int64_t first = 0) {
  const LinearAttentionShape& s = p.shape;
  const int64_t row = s.num_heads * s.head_dim;
  const int64_t total = std::accumulate(chunks.begin(), chunks.end(), int64_t{0});
  std::vector<float> out(total * row, -7.0f);
  int64_t t = first;
  for (int64_t c : chunks) {
    LinearAttentionShape cs = s;
    cs.num_tokens = c;
    backend.LinearAttention(p.q.data() + t * row, p.k.data() + t * s.kv_stride,
                            p.v.data() + t * s.kv_stride, cs, state.data(),
                            out.data() + (t - first) * row);
    t += c;
  }
  return out;
}

float MaxAbs(const std::vector<float>& x) {
  float best = 0.0f;
  for (float e : x) best = std::max(best, std::fabs(e));
  return best;
}

// Compares two states: S and z relative to their own magnitude (they are sums of positive
// features times v, so every entry is bounded by the matching z entry times max|v|), and the
// key_log_scale entries to 1e-5 relative.
void ExpectStatesClose(const std::vector<float>& got, const std::vector<float>& want,
                       const LinearAttentionShape& s, double rtol, const std::string& what) {
  const int64_t m = s.num_features, d = s.head_dim, record = m * d + m + 1;
  ASSERT_EQ(got.size(), want.size());
  std::vector<float> magnitude(want.size());
  for (int64_t g = 0; g < s.num_kv_heads; ++g) {
    const float* z = want.data() + g * record + m * d;
    float z_max = 0.0f;
    for (int64_t i = 0; i < m; ++i) z_max = std::max(z_max, std::fabs(z[i]));
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t p = 0; p < d; ++p) magnitude[g * record + i * d + p] = std::fabs(z[i]) + 1e-3f * z_max;
      magnitude[g * record + m * d + i] = std::fabs(z[i]) + 1e-3f * z_max;
    }
    const float c = want[g * record + record - 1];
    magnitude[g * record + record - 1] = std::isinf(c) ? 1.0f : std::fabs(c) + 1.0f;
  }
  // key_log_scale = -inf (no key yet, or ELU+1 which leaves it alone) must match exactly.
  std::vector<float> got_finite = got, want_finite = want;
  for (int64_t g = 0; g < s.num_kv_heads; ++g) {
    const int64_t c = g * record + record - 1;
    if (std::isinf(want[c])) {
      EXPECT_EQ(got[c], want[c]) << what << " key_log_scale of kv head " << g;
      got_finite[c] = want_finite[c] = 0.0f;
    }
  }
  ExpectClose(got_finite, want_finite, 0.0, rtol, &magnitude, what + " state");
}

// ---------------------------------------------------------------------------------------------
// CPU vs reference.

struct RefCase {
  FeatureMap map;
  int64_t heads, kv_heads, d, m, pad;
};

const RefCase kRefCases[] = {
    {FeatureMap::kEluPlusOne, 4, 4, 16, 16, 0},      // MHA
    {FeatureMap::kEluPlusOne, 6, 2, 64, 64, 0},      // GQA 3
    {FeatureMap::kEluPlusOne, 8, 2, 16, 16, 5},      // GQA 4, padded rows
    {FeatureMap::kEluPlusOne, 3, 1, 20, 20, 0},      // head_dim not a multiple of 8
    {FeatureMap::kFavorPositive, 4, 4, 16, 16, 0},   // MHA, m = d
    {FeatureMap::kFavorPositive, 6, 2, 16, 64, 3},   // GQA 3, m = 4d, padded rows
    {FeatureMap::kFavorPositive, 8, 2, 64, 256, 0},  // GQA 4, m = 256
    {FeatureMap::kFavorPositive, 3, 3, 64, 16, 0},   // m < d (one partial block)
    {FeatureMap::kFavorPositive, 12, 4, 64, 100, 0}, // GQA 3, m not a multiple of d or 8
};

class LinearAttentionRefTest : public ::testing::TestWithParam<RefCase> {};

// Bound: outputs are convex combinations of v rows (|v| <= 1) with weights from f32 features
// (~1e-6 relative rounding each), so |cpu - ref| <= 1e-5 absolute (measured <= 3.3e-7). State
// entries within 2e-5 of their magnitude (|z_i| + 1e-3 max z, see ExpectStatesClose; measured
// <= 8.5e-7).
TEST_P(LinearAttentionRefTest, CpuMatchesReference) {
  const RefCase c = GetParam();
  const Problem p = MakeProblem(c.map, 100, c.heads, c.kv_heads, c.d, c.m, c.pad, 7);
  const std::vector<int64_t> chunks = {70, 1, 29};  // prefill, decode, prefill continuing
  auto ref = MakeReferenceBackend();
  std::vector<float> ref_state = NewState(p.shape);
  const auto want = RunChunks(*ref, p, chunks, ref_state);
  for (int threads : {1, 2}) {
    const std::string what = "threads=" + std::to_string(threads);
    auto cpu = MakeCpuBackend(threads);
    std::vector<float> state = NewState(p.shape);
    ExpectClose(RunChunks(*cpu, p, chunks, state), want, 1e-5, 0.0, nullptr, what);
    ExpectStatesClose(state, ref_state, p.shape, 2e-5, what);
  }
  // States are interchangeable: 70 tokens on the CPU, the rest on the reference.
  auto cpu = MakeCpuBackend(2);
  std::vector<float> state = NewState(p.shape);
  RunChunks(*cpu, p, {70}, state);
  const auto tail = RunChunks(*ref, p, {1, 29}, state, 70);
  const int64_t row = c.heads * c.d;
  ExpectClose(tail, std::vector<float>(want.begin() + 70 * row, want.end()), 1e-5, 0.0, nullptr,
              "cpu state continued by ref");
}

INSTANTIATE_TEST_SUITE_P(Cases, LinearAttentionRefTest, ::testing::ValuesIn(kRefCases),
                         [](const auto& info) {
                           const RefCase& c = info.param;
                           return std::string(c.map == FeatureMap::kEluPlusOne ? "Elu" : "Favor") +
                                  "_h" + std::to_string(c.heads) + "_kv" + std::to_string(c.kv_heads) +
                                  "_d" + std::to_string(c.d) + "_m" + std::to_string(c.m) + "_pad" +
                                  std::to_string(c.pad);
                         });

// ---------------------------------------------------------------------------------------------
// Chunk invariance: one 200-token call = 37+1+100+62 = 200 single-token calls (outputs, state).
// Bound: same sums in a different f32 association: 5e-6 absolute on outputs (|v| <= 1; measured
// <= 4.2e-7), states within 1e-5 of their magnitude (measured <= 3.4e-7).

TEST(LinearAttentionTest, ChunkInvariance) {
  for (FeatureMap map : {FeatureMap::kEluPlusOne, FeatureMap::kFavorPositive}) {
    const Problem p = MakeProblem(map, 200, 6, 2, 64, 128, 0, 21);
    auto cpu = MakeCpuBackend(2);
    std::vector<float> whole_state = NewState(p.shape);
    const auto whole = RunChunks(*cpu, p, {200}, whole_state);
    const std::vector<std::vector<int64_t>> splits = {{37, 1, 100, 62}, std::vector<int64_t>(200, 1)};
    for (const auto& split : splits) {
      const std::string what = std::string(map == FeatureMap::kEluPlusOne ? "elu" : "favor") +
                               " chunks=" + std::to_string(split.size());
      std::vector<float> state = NewState(p.shape);
      ExpectClose(RunChunks(*cpu, p, split, state), whole, 5e-6, 0.0, nullptr, what);
      ExpectStatesClose(state, whole_state, p.shape, 1e-5, what);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// ELU+1 against the dense quadratic formula, in double, written here from the definition:
//   out_t = Σ_{j<=t} (φ(q_t)·φ(k_j)) v_j / Σ_{j<=t} φ(q_t)·φ(k_j),  φ(x) = elu(x·sqrt(scale)) + 1.
// Bound: |out - dense| <= 5e-6 (convex combinations of |v| <= 1, f32 sums of <= 150 terms;
// measured <= 1.2e-7).

TEST(LinearAttentionTest, EluMatchesDenseFormula) {
  const int64_t n = 150, heads = 4, kv_heads = 2, d = 32;
  const Problem p = MakeProblem(FeatureMap::kEluPlusOne, n, heads, kv_heads, d, d, 0, 33, 3.0f);
  const LinearAttentionShape& s = p.shape;
  const double root = std::sqrt(double(s.scale));
  auto phi = [&](const float* x, int64_t p_) {
    const double y = x[p_] * root;
    return y > 0.0 ? y + 1.0 : std::exp(y);
  };
  std::vector<float> dense(n * heads * d);
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / (heads / kv_heads);
    for (int64_t t = 0; t < n; ++t) {
      const float* qt = p.q.data() + (t * heads + h) * d;
      std::vector<double> num(d, 0.0);
      double den = 0.0;
      for (int64_t j = 0; j <= t; ++j) {
        const float* kj = p.k.data() + j * s.kv_stride + g * d;
        const float* vj = p.v.data() + j * s.kv_stride + g * d;
        double a = 0.0;
        for (int64_t i = 0; i < d; ++i) a += phi(qt, i) * phi(kj, i);
        den += a;
        for (int64_t i = 0; i < d; ++i) num[i] += a * vj[i];
      }
      for (int64_t i = 0; i < d; ++i) dense[(t * heads + h) * d + i] = float(num[i] / den);
    }
  }
  auto cpu = MakeCpuBackend(2);
  auto ref = MakeReferenceBackend();
  for (Backend* backend : {cpu.get(), ref.get()}) {
    std::vector<float> state = NewState(s);
    ExpectClose(RunChunks(*backend, p, {90, 1, 59}, state), dense, 5e-6, 0.0, nullptr,
                std::string(backend->name()));
  }
}

// ---------------------------------------------------------------------------------------------
// FAVOR+ approximates causal softmax attention, and better with more features.
// q, k ~ N(0, sigma²) per component, v ~ N(0, 1), head_dim 64, scale 1/8; 128 tokens, 4 heads,
// 4 seeds (inputs and projection). Error = ‖out - exact‖_F / ‖exact‖_F over all tokens and heads,
// averaged over the seeds (exact = causal softmax attention in double).
//
// Per feature the positive estimator of exp(q'·k') has relative variance exp(|q'+k'|²) - 1, with
// |q'+k'|² ≈ 2·64·sigma²/8 = 16·sigma². Measured (gcc/libstdc++ inputs; the CPU kernel and the
// double reference agree to 4 digits, so this is the estimator, not f32 rounding):
//
//   sigma   m = 16   m = 64   m = 256   m = 1024   (m = 4096)
//   1.0     1.732    1.542    1.349     1.171      (1.026)   realistic: relative variance ~e^16
//   0.25    0.190    0.086    0.044     0.0215     (0.011)   moderate: clean 1/sqrt(m) rate
//
// At realistic scales the error stays above 1 (worse than predicting 0) even at m = 1024: FAVOR+
// is no drop-in replacement for a pretrained softmax model at these norms; it shrinks, slowly.
// Per-seed spread at m = 1024: [1.11, 1.23] (sigma 1), [0.019, 0.028] (sigma 0.25).
// Asserted: sigma 1:    error(1024) < 1.35, error(16) / error(1024) > 1.25;
//           sigma 0.25: error(1024) < 0.03, error(16) / error(1024) > 6 (1/sqrt(m) predicts 8);
//           both: each step of m (×4) does not increase the error (10% slack).

double FavorSoftmaxError(int64_t m, uint32_t seed, float qk_sigma) {
  const int64_t n = 128, heads = 4, d = 64;
  Problem p;
  LinearAttentionShape& s = p.shape;
  s.num_tokens = n, s.num_heads = heads, s.num_kv_heads = heads, s.head_dim = d;
  s.kv_stride = heads * d, s.scale = 0.125f;
  s.feature_map = FeatureMap::kFavorPositive, s.num_features = m;
  p.q = GaussianVector(n * heads * d, seed + 1, qk_sigma);
  p.k = GaussianVector(n * heads * d, seed + 2, qk_sigma);
  p.v = GaussianVector(n * heads * d, seed + 3);
  p.w.resize(m * d);
  MakeFavorProjection(m, d, 1000 + seed, p.w.data());
  s.projection = p.w.data();
  auto cpu = MakeCpuBackend(2);
  std::vector<float> state = NewState(s);
  const auto out = RunChunks(*cpu, p, {n}, state);

  double err2 = 0.0, ref2 = 0.0;
  std::vector<double> logits(n), exact(d);
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t t = 0; t < n; ++t) {
      const float* qt = p.q.data() + (t * heads + h) * d;
      double top = -1e300;
      for (int64_t j = 0; j <= t; ++j) {
        const float* kj = p.k.data() + j * s.kv_stride + h * d;
        double dot = 0.0;
        for (int64_t i = 0; i < d; ++i) dot += double(qt[i]) * kj[i];
        logits[j] = dot * s.scale;
        top = std::max(top, logits[j]);
      }
      double den = 0.0;
      std::fill(exact.begin(), exact.end(), 0.0);
      for (int64_t j = 0; j <= t; ++j) {
        const double e = std::exp(logits[j] - top);
        den += e;
        for (int64_t i = 0; i < d; ++i) exact[i] += e * p.v[j * s.kv_stride + h * d + i];
      }
      for (int64_t i = 0; i < d; ++i) {
        const double want = exact[i] / den, got = out[(t * heads + h) * d + i];
        err2 += (got - want) * (got - want);
        ref2 += want * want;
      }
    }
  }
  return std::sqrt(err2 / ref2);
}

// Mean error over 4 seeds for m = 16, 64, 256, 1024, printed; asserts the bounds stated above.
void ExpectFavorConverges(float qk_sigma, double bound_1024, double min_factor) {
  const int64_t features[] = {16, 64, 256, 1024};
  double error[4];
  for (int i = 0; i < 4; ++i) {
    double sum = 0.0;
    for (uint32_t seed = 0; seed < 4; ++seed) sum += FavorSoftmaxError(features[i], 100 * seed, qk_sigma);
    error[i] = sum / 4;
    std::printf("[ FAVOR+   ] sigma %.2f m = %4lld: mean relative error vs softmax %.4f\n", qk_sigma,
                static_cast<long long>(features[i]), error[i]);
  }
  EXPECT_LT(error[3], bound_1024);
  EXPECT_GT(error[0] / error[3], min_factor);
  for (int i = 1; i < 4; ++i) EXPECT_LT(error[i], 1.1 * error[i - 1]) << "m = " << features[i];
}

TEST(LinearAttentionTest, FavorApproximatesSoftmaxRealisticScale) { ExpectFavorConverges(1.0f, 1.35, 1.25); }

TEST(LinearAttentionTest, FavorApproximatesSoftmaxModerateScale) { ExpectFavorConverges(0.25f, 0.03, 6.0); }

// ---------------------------------------------------------------------------------------------
// Stability: q, k scaled ×30 (logits in the hundreds; FAVOR+ log-features ~ ±1e3) keep outputs
// and state finite, and outputs stay convex combinations of v: |out| <= max|v| (+1e-4).

TEST(LinearAttentionTest, HugeNormsStayFinite) {
  auto cpu = MakeCpuBackend(2);
  auto ref = MakeReferenceBackend();
  for (FeatureMap map : {FeatureMap::kEluPlusOne, FeatureMap::kFavorPositive}) {
    Problem p = MakeProblem(map, 120, 6, 2, 64, 128, 0, 55);
    for (float& x : p.q) x = 30.0f * x;
    for (float& x : p.k) x = 30.0f * x;
    for (Backend* backend : {cpu.get(), ref.get()}) {
      const std::string what = std::string(backend->name()) +
                               (map == FeatureMap::kEluPlusOne ? " elu" : " favor");
      std::vector<float> state = NewState(p.shape);
      const auto out = RunChunks(*backend, p, {50, 1, 69}, state);
      for (float x : out) ASSERT_TRUE(std::isfinite(x)) << what;
      EXPECT_LE(MaxAbs(out), MaxAbs(p.v) + 1e-4f) << what;
      const int64_t record = p.shape.num_features * p.shape.head_dim + p.shape.num_features + 1;
      for (size_t i = 0; i < state.size(); ++i) {
        if (map == FeatureMap::kEluPlusOne && int64_t(i) % record == record - 1) continue;  // unused c
        ASSERT_TRUE(std::isfinite(state[i])) << what << " state[" << i << "]";
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// State helpers.

TEST(LinearAttentionTest, StateInitIsEmptySum) {
  EXPECT_EQ(LinearStateFloats(3, 32, 16), 3 * (32 * 16 + 32 + 1));
  std::vector<float> state(LinearStateFloats(3, 32, 16), 5.0f);
  LinearStateInit(state.data(), 3, 32, 16);
  const int64_t record = 32 * 16 + 32 + 1;
  for (int64_t i = 0; i < int64_t(state.size()); ++i) {
    if (i % record == record - 1) {
      EXPECT_TRUE(std::isinf(state[i]) && state[i] < 0) << i;
    } else {
      EXPECT_EQ(state[i], 0.0f) << i;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// MakeFavorProjection: deterministic bytes per seed; rows orthogonal within each block of
// head_dim rows (|cos| < 1e-5); row norms like chi(d): mean within 0.15 of sqrt(d - 1/2) (the chi
// mean; the standard error of 1024 samples is 0.022) and standard deviation in [0.55, 0.85]
// (chi(d) has sd -> 1/sqrt(2) = 0.707).

TEST(LinearAttentionTest, FavorProjectionDeterministic) {
  const int64_t m = 100, d = 64;
  std::vector<float> a(m * d), b(m * d), c(m * d);
  MakeFavorProjection(m, d, 42, a.data());
  MakeFavorProjection(m, d, 42, b.data());
  MakeFavorProjection(m, d, 43, c.data());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0);
  EXPECT_NE(std::memcmp(a.data(), c.data(), a.size() * sizeof(float)), 0);
  // Full blocks are shared with a longer projection of the same seed.
  std::vector<float> longer(256 * d);
  MakeFavorProjection(256, d, 42, longer.data());
  EXPECT_EQ(std::memcmp(a.data(), longer.data(), d * d * sizeof(float)), 0);
}

TEST(LinearAttentionTest, FavorProjectionOrthogonalBlocksChiNorms) {
  for (int64_t d : {16, 64}) {
    const int64_t m = 1024 + d / 2;  // 64 (or 16) full blocks and a partial one
    std::vector<float> w(m * d);
    MakeFavorProjection(m, d, 7, w.data());
    std::vector<double> norms(m);
    for (int64_t i = 0; i < m; ++i) {
      double n2 = 0.0;
      for (int64_t p = 0; p < d; ++p) n2 += double(w[i * d + p]) * w[i * d + p];
      norms[i] = std::sqrt(n2);
    }
    double worst_cos = 0.0;
    for (int64_t i = 0; i < m; ++i) {
      for (int64_t j = (i / d) * d; j < i; ++j) {
        double dot = 0.0;
        for (int64_t p = 0; p < d; ++p) dot += double(w[i * d + p]) * w[j * d + p];
        worst_cos = std::max(worst_cos, std::fabs(dot) / (norms[i] * norms[j]));
      }
    }
    EXPECT_LT(worst_cos, 1e-5) << "d = " << d;
    double mean = 0.0, var = 0.0;
    for (double x : norms) mean += x / m;
    for (double x : norms) var += (x - mean) * (x - mean) / (m - 1);
    EXPECT_NEAR(mean, std::sqrt(d - 0.5), 0.15) << "d = " << d;
    EXPECT_GT(std::sqrt(var), 0.55) << "d = " << d;
    EXPECT_LT(std::sqrt(var), 0.85) << "d = " << d;
  }
}

}  // namespace
}  // namespace attnserve

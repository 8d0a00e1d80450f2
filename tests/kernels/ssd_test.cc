// Mamba-2 mixer kernels (kernels/ssd.h): SsdScan and GatedRmsNorm.
//   - CPU vs reference on random inputs and random carried-in states: T = 1 (the recurrent path),
//     T < Q, T = k·Q, T = k·Q + r, G = 1/2/4, P and N not multiples of 8, dense rows and the
//     strided rows of the real mixer (x, B, C inside a conv-output row, dt inside an in_proj row),
//     a clamped dt (time_step_limit), optional dt_bias / D left out;
//   - chunk invariance: one call = several calls with the state carried = token-by-token decode;
//     chunk_size invariance (Q = 1 .. 256 give one result);
//   - a hand-computed case (2 heads in 2 groups, P 1, N 2, 2 tokens);
//   - Hugging Face itself: tests/golden/ssd_kernels.json from tools/make_ssd_kernel_golden.py
//     (mamba2_chunk_scan at several chunk sizes, mamba2_selective_state_update, MambaRMSNormGated);
//   - that the bounds are tight enough to fail: dropping D, mis-mapping groups or ignoring the dt
//     clamp moves the result far outside them;
//   - both ops through the Backend interface of the CPU and reference backends.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
#include "kernels/ssd.h"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::RandomVector;

constexpr int kThreads = 2;

// Bounds, as |got - want| <= tol · (|want| + max|want|) (relative to the element and to the
// tensor's scale, since outputs are sums of ~Q·N terms of mixed sign that may cancel), about 10x
// the worst error measured over all cases:
// f32 kernels vs the f64 recurrence. The chunked path sums in another order than the recurrence
// (Q·N products per output, exp of f64 segment sums rounded to f32): measured worst 1.6e-7.
constexpr double kCpuTol = 2e-6;
// HF's torch f32 chunk scan / state update vs ours (both f32; HF exponentiates f32 cumsum
// differences): measured worst 2.7e-7.
constexpr double kGoldenTol = 3e-6;
// Same kernel, same f32 operations except the split (y sums and block boundaries move):
// measured worst 1.2e-7.
constexpr double kSplitTol = 2e-6;
// GatedRmsNorm: f32 sums of group_size squares and one rsqrt vs double / HF: measured 2.1e-7.
constexpr double kNormTol = 2e-6;

// Expects got ≈ want within tol · (|want_i| + max_j |want_j|).
void ExpectScaled(const std::vector<float>& got, const std::vector<float>& want, double tol,
                  const std::string& what) {
  float scale = 0.0f;
  for (float w : want) scale = std::max(scale, std::fabs(w));
  std::vector<float> mag(want.size());
  for (size_t i = 0; i < want.size(); ++i) mag[i] = std::fabs(want[i]) + scale;
  ExpectClose(got, want, 0.0, tol, &mag, what);
}

// Largest |a - b| relative to max|b| (for the "would fail" checks).
double ScaledDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double scale = 0.0, diff = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    scale = std::max(scale, double(std::fabs(b[i])));
    diff = std::max(diff, double(std::fabs(a[i] - b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

struct Case {
  int64_t T, H, P, G, N, Q;
};

std::string Name(const Case& c) {
  return "T " + std::to_string(c.T) + " H " + std::to_string(c.H) + " P " + std::to_string(c.P) +
         " G " + std::to_string(c.G) + " N " + std::to_string(c.N) + " Q " + std::to_string(c.Q);
}

// Random inputs of one scan. Strided: x, B, C are the column ranges of a conv-output row
// [x (H·P) | B (G·N) | C (G·N)], dt is the tail of a wider in_proj-like row [3 other | dt (H)].
struct Inputs {
  Case c;
  bool strided;
  std::vector<float> xbc, bc, dtrow, dt_bias, A, D, state;
  Inputs(Case cs, bool strided_rows, uint32_t seed) : c(cs), strided(strided_rows) {
    const int64_t HP = c.H * c.P, GN = c.G * c.N;
    xbc = RandomVector(c.T * (strided ? HP + 2 * GN : HP), seed + 1, -2.0f, 2.0f);
    bc = RandomVector(strided ? 0 : 2 * c.T * GN, seed + 2);
    if (strided) {  // B and C in [-1, 1] like the dense case
      for (int64_t t = 0; t < c.T; ++t)
        for (int64_t i = HP; i < HP + 2 * GN; ++i) xbc[t * XStride() + i] *= 0.5f;
    }
    dtrow = RandomVector(c.T * DtStride(), seed + 3, -4.0f, 1.0f);
    dt_bias = RandomVector(c.H, seed + 4);
    A = RandomVector(c.H, seed + 5, -4.0f, -0.05f);
    D = RandomVector(c.H, seed + 6);
    state = RandomVector(c.H * c.P * c.N, seed + 7);
  }
  int64_t XStride() const { return strided ? c.H * c.P + 2 * c.G * c.N : c.H * c.P; }
  int64_t DtStride() const { return strided ? c.H + 3 : c.H; }
  int64_t BcStride() const { return strided ? XStride() : c.G * c.N; }
  const float* X(int64_t t) const { return xbc.data() + t * XStride(); }
  const float* Dt(int64_t t) const { return dtrow.data() + t * DtStride() + (strided ? 3 : 0); }
  const float* B(int64_t t) const {
    return (strided ? xbc.data() + c.H * c.P : bc.data()) + t * BcStride();
  }
  const float* C(int64_t t) const {
    return (strided ? xbc.data() + c.H * c.P + c.G * c.N : bc.data() + c.T * c.G * c.N) + t * BcStride();
  }
  SsdShape Shape(int64_t num_tokens) const {
    SsdShape s{num_tokens, c.H, c.P, c.G, c.N, c.Q};
    if (strided) {
      s.x_stride = XStride();
      s.dt_stride = DtStride();
      s.bc_stride = BcStride();
    }
    return s;
  }
};

enum class Impl { kCpu, kRef };

// Tokens [t0, t0 + n) of `in` through one call; out rows t0.. of a [T, H·P] buffer.
void Scan(Impl impl, const Inputs& in, SsdShape s, int64_t t0, int64_t n, float* state, float* out,
          bool with_bias = true, bool with_d = true) {
  s.num_tokens = n;
  const float* bias = with_bias ? in.dt_bias.data() : nullptr;
  const float* D = with_d ? in.D.data() : nullptr;
  float* o = out + t0 * in.c.H * in.c.P;
  if (impl == Impl::kCpu) {
    cpu::SsdScan(kThreads, in.X(t0), in.Dt(t0), bias, in.A.data(), in.B(t0), in.C(t0), D, s, state, o);
  } else {
    ref::SsdScan(in.X(t0), in.Dt(t0), bias, in.A.data(), in.B(t0), in.C(t0), D, s, state, o);
  }
}

struct Result {
  std::vector<float> out, state;
};

Result RunWhole(Impl impl, const Inputs& in, const SsdShape& s, bool bias = true, bool d = true) {
  Result r{std::vector<float>(in.c.T * in.c.H * in.c.P), in.state};
  Scan(impl, in, s, 0, in.c.T, r.state.data(), r.out.data(), bias, d);
  return r;
}

TEST(SsdTest, CpuMatchesReference) {
  const Case cases[] = {
      {1, 4, 64, 1, 64, 256},  {1, 6, 5, 2, 13, 8},    {2, 3, 7, 1, 9, 256},   {5, 4, 6, 2, 8, 16},
      {32, 4, 16, 2, 16, 16},  {37, 4, 6, 2, 8, 8},    {50, 8, 12, 4, 16, 16}, {64, 2, 64, 1, 64, 32},
      {70, 3, 9, 1, 5, 64},    {100, 8, 8, 2, 24, 32}, {129, 2, 33, 2, 17, 64}, {300, 2, 16, 1, 32, 256}};
  uint32_t seed = 10;
  for (const Case& cs : cases) {
    for (bool strided : {false, true}) {
      const Inputs in(cs, strided, seed += 10);
      const std::string what = Name(cs) + (strided ? " strided" : " dense");
      const Result got = RunWhole(Impl::kCpu, in, in.Shape(cs.T));
      const Result want = RunWhole(Impl::kRef, in, in.Shape(cs.T));
      ExpectScaled(got.out, want.out, kCpuTol, what + " out");
      ExpectScaled(got.state, want.state, kCpuTol, what + " state");
    }
  }
}

TEST(SsdTest, OptionalOperandsAndDtClamp) {
  const Inputs in({45, 4, 10, 2, 12, 16}, true, 77);
  for (bool bias : {false, true}) {
    for (bool d : {false, true}) {
      const std::string what = std::string("bias ") + (bias ? "on" : "off") + " D " + (d ? "on" : "off");
      const Result got = RunWhole(Impl::kCpu, in, in.Shape(45), bias, d);
      const Result want = RunWhole(Impl::kRef, in, in.Shape(45), bias, d);
      ExpectScaled(got.out, want.out, kCpuTol, what + " out");
      ExpectScaled(got.state, want.state, kCpuTol, what + " state");
    }
  }
  // time_step_limit binding on both sides (delta ranges over ~0.01 .. 1.6 here).
  SsdShape clamped = in.Shape(45);
  clamped.dt_min = 0.1f;
  clamped.dt_max = 0.5f;
  for (int64_t T : {int64_t{1}, int64_t{45}}) {
    clamped.num_tokens = T;
    const Result got = RunWhole(Impl::kCpu, in, clamped);
    const Result want = RunWhole(Impl::kRef, in, clamped);
    ExpectScaled(got.out, want.out, kCpuTol, "clamped out T " + std::to_string(T));
    ExpectScaled(got.state, want.state, kCpuTol, "clamped state T " + std::to_string(T));
  }
  const Result unclamped = RunWhole(Impl::kRef, in, in.Shape(1));
  clamped.num_tokens = 1;
  EXPECT_GT(ScaledDiff(RunWhole(Impl::kRef, in, clamped).state, unclamped.state), 100 * kCpuTol);
}

// One call of T tokens = calls of uneven sizes with the state carried = T calls of one token
// (the recurrent path), for the CPU kernel and the reference.
TEST(SsdTest, ChunkInvariance) {
  const Case whole{90, 6, 12, 3, 16, 32};
  const Inputs in(whole, true, 321);
  const int64_t splits[] = {13, 1, 40, 2, 34};
  for (Impl impl : {Impl::kCpu, Impl::kRef}) {
    const std::string what = impl == Impl::kCpu ? "cpu" : "ref";
    const Result one = RunWhole(impl, in, in.Shape(whole.T));
    Result split{std::vector<float>(one.out.size()), in.state};
    int64_t t0 = 0;
    for (int64_t n : splits) {
      Scan(impl, in, in.Shape(n), t0, n, split.state.data(), split.out.data());
      t0 += n;
    }
    ASSERT_EQ(t0, whole.T);
    Result steps{std::vector<float>(one.out.size()), in.state};
    for (int64_t t = 0; t < whole.T; ++t) Scan(impl, in, in.Shape(1), t, 1, steps.state.data(), steps.out.data());
    ExpectScaled(split.out, one.out, kSplitTol, what + " split out");
    ExpectScaled(split.state, one.state, kSplitTol, what + " split state");
    ExpectScaled(steps.out, one.out, kSplitTol, what + " token-by-token out");
    ExpectScaled(steps.state, one.state, kSplitTol, what + " token-by-token state");
  }
}

TEST(SsdTest, ChunkSizeInvariance) {
  const Inputs in({150, 4, 20, 2, 24, 256}, false, 99);
  const Result want = RunWhole(Impl::kRef, in, in.Shape(150));
  for (int64_t q : {1, 3, 8, 16, 50, 64, 149, 150, 256}) {
    SsdShape s = in.Shape(150);
    s.chunk_size = q;
    const Result got = RunWhole(Impl::kCpu, in, s);
    ExpectScaled(got.out, want.out, kCpuTol, "Q " + std::to_string(q) + " out");
    ExpectScaled(got.state, want.state, kCpuTol, "Q " + std::to_string(q) + " state");
  }
}

// H 2, G 2 (head h reads group h), P 1, N 2, two tokens; the expected numbers are the header's
// formulas written out by hand. Bound 1e-6 · (|want| + max|want|) (measured 4.5e-8).
TEST(SsdTest, HandComputedCase) {
  const float x[4] = {1.0f, -1.0f, 2.0f, 0.5f};           // [t][h]
  const float dt[4] = {0.2f, 0.7f, -0.3f, 0.2f};          // [t][h]
  const float dt_bias[2] = {0.3f, -0.2f}, A[2] = {-0.5f, -1.0f}, D[2] = {0.25f, -0.5f};
  const float B[8] = {1.5f, -1.0f, 0.5f, 2.0f, -1.0f, 0.5f, 1.0f, -0.5f};  // [t][g][n]
  const float C[8] = {2.0f, 0.5f, -1.0f, 1.0f, 0.5f, 1.0f, 2.0f, -2.0f};
  const std::vector<float> state0 = {0.4f, -0.2f, 0.1f, 0.3f};             // [h][p=0][n]
  // dt + dt_bias = 0.5 for both heads at t = 0 and 0 at t = 1.
  const double d0 = std::log1p(std::exp(0.5)), d1 = std::log(2.0);
  // Head 0 (group 0): decays exp(-0.5·d0), exp(-0.5·ln 2) = 1/√2.
  const double e00 = std::exp(-0.5 * d0), e01 = 1.0 / std::sqrt(2.0);
  const double s0a = e00 * 0.4 + d0 * 1.0 * 1.5, s0b = e00 * -0.2 + d0 * 1.0 * -1.0;
  const double y00 = s0a * 2.0 + s0b * 0.5 + 0.25 * 1.0;
  const double s0c = e01 * s0a + d1 * 2.0 * -1.0, s0d = e01 * s0b + d1 * 2.0 * 0.5;
  const double y10 = s0c * 0.5 + s0d * 1.0 + 0.25 * 2.0;
  // Head 1 (group 1): decays exp(-d0), exp(-ln 2) = 1/2.
  const double e10 = std::exp(-d0);
  const double s1a = e10 * 0.1 + d0 * -1.0 * 0.5, s1b = e10 * 0.3 + d0 * -1.0 * 2.0;
  const double y01 = s1a * -1.0 + s1b * 1.0 + -0.5 * -1.0;
  const double s1c = 0.5 * s1a + d1 * 0.5 * 1.0, s1d = 0.5 * s1b + d1 * 0.5 * -0.5;
  const double y11 = s1c * 2.0 + s1d * -2.0 + -0.5 * 0.5;
  const std::vector<float> want_out = {float(y00), float(y01), float(y10), float(y11)};
  const std::vector<float> want_state = {float(s0c), float(s0d), float(s1c), float(s1d)};
  for (int variant = 0; variant < 3; ++variant) {  // cpu chunked, cpu token by token, ref
    std::vector<float> state = state0, out(4);
    const SsdShape s{2, 2, 1, 2, 2};
    if (variant == 0) cpu::SsdScan(kThreads, x, dt, dt_bias, A, B, C, D, s, state.data(), out.data());
    if (variant == 1) {
      SsdShape one = s;
      one.num_tokens = 1;
      for (int t = 0; t < 2; ++t) {
        cpu::SsdScan(kThreads, x + 2 * t, dt + 2 * t, dt_bias, A, B + 4 * t, C + 4 * t, D, one,
                     state.data(), out.data() + 2 * t);
      }
    }
    if (variant == 2) ref::SsdScan(x, dt, dt_bias, A, B, C, D, s, state.data(), out.data());
    const std::string what = "variant " + std::to_string(variant);
    ExpectScaled(out, want_out, 1e-6, what + " out");
    ExpectScaled(state, want_state, 1e-6, what + " state");
  }
}

// The bounds above are tight enough to notice real mistakes: each of these changes moves the
// reference result by far more than kCpuTol / kGoldenTol.
TEST(SsdTest, BoundsCatchMistakes) {
  const Inputs in({40, 4, 6, 2, 8, 16}, false, 5);
  const Result want = RunWhole(Impl::kRef, in, in.Shape(40));
  EXPECT_GT(ScaledDiff(RunWhole(Impl::kRef, in, in.Shape(40), true, false).out, want.out), 100 * kGoldenTol)
      << "D skip left out";
  EXPECT_GT(ScaledDiff(RunWhole(Impl::kRef, in, in.Shape(40), false, true).out, want.out), 100 * kGoldenTol)
      << "dt_bias left out";
  // Groups mapped h % G instead of h / (H / G): swap heads 1 and 2 of every input.
  Inputs swapped = in;
  auto swap_heads = [](std::vector<float>& v, int64_t stride, int64_t width) {
    for (size_t r = 0; r + stride <= v.size(); r += stride)
      std::swap_ranges(v.begin() + r + width, v.begin() + r + 2 * width, v.begin() + r + 2 * width);
  };
  swap_heads(swapped.xbc, 4 * 6, 6);
  swap_heads(swapped.dtrow, 4, 1);
  swap_heads(swapped.dt_bias, 4, 1);
  swap_heads(swapped.A, 4, 1);
  swap_heads(swapped.D, 4, 1);
  swap_heads(swapped.state, 4 * 6 * 8, 6 * 8);
  std::vector<float> out = RunWhole(Impl::kRef, swapped, swapped.Shape(40)).out;
  swap_heads(out, 4 * 6, 6);  // back in the original head order
  EXPECT_GT(ScaledDiff(out, want.out), 100 * kGoldenTol) << "group mapping";
}

// Reader for tools/make_ssd_kernel_golden.py's output: a flat JSON object of number arrays.
std::map<std::string, std::vector<float>> ReadGolden(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  std::map<std::string, std::vector<float>> out;
  size_t p = 0;
  while ((p = s.find('"', p)) != std::string::npos) {
    const size_t e = s.find('"', p + 1);
    std::vector<float>& v = out[s.substr(p + 1, e - p - 1)];
    const char* c = s.c_str() + s.find('[', e) + 1;
    while (true) {
      while (*c == ' ' || *c == ',') ++c;
      if (*c == ']' || *c == '\0') break;
      char* next = nullptr;
      v.push_back(std::strtof(c, &next));
      c = next;
    }
    p = size_t(c - s.c_str());
  }
  return out;
}

std::string GoldenPath() {
  const std::string here = __FILE__;  // .../tests/kernels/ssd_test.cc
  return here.substr(0, here.rfind('/')) + "/../golden/ssd_kernels.json";
}

// HF's mamba2_chunk_scan for each prefill case and chunk size, then (case 0) three decode steps of
// mamba2_selective_state_update continuing from the Q = 8 state. Bound kGoldenTol.
TEST(SsdTest, MatchesHuggingFace) {
  auto g = ReadGolden(GoldenPath());
  ASSERT_FALSE(g.empty()) << "cannot read " << GoldenPath();
  for (int k = 0; g.count("p" + std::to_string(k) + "_x"); ++k) {
    const std::string pre = "p" + std::to_string(k) + "_";
    auto num = [&](const std::string& key) { return int64_t(g[pre + key].at(0)); };
    SsdShape s{num("num_tokens"), num("num_heads"), num("head_dim"), num("num_groups"), num("state_size")};
    s.dt_min = g[pre + "dt_min"].at(0);
    s.dt_max = g[pre + "dt_max"].at(0);
    ASSERT_EQ(int64_t(g[pre + "x"].size()), s.num_tokens * s.num_heads * s.head_dim);
    ASSERT_EQ(int64_t(g[pre + "B"].size()), s.num_tokens * s.num_groups * s.state_size);
    ASSERT_EQ(int64_t(g[pre + "state0"].size()), s.num_heads * s.head_dim * s.state_size);
    for (float q : g[pre + "chunk_sizes"]) {
      s.chunk_size = int64_t(q);
      const std::string qs = std::to_string(s.chunk_size);
      for (Impl impl : {Impl::kCpu, Impl::kRef}) {
        const std::string what = pre + "Q " + qs + (impl == Impl::kCpu ? " cpu" : " ref");
        std::vector<float> state = g[pre + "state0"], out(g[pre + "x"].size());
        auto* fn = impl == Impl::kCpu ? +[](const float* x, const float* dt, const float* b, const float* A,
                                            const float* B, const float* C, const float* D,
                                            const SsdShape& sh, float* st, float* o) {
          cpu::SsdScan(kThreads, x, dt, b, A, B, C, D, sh, st, o);
        } : &ref::SsdScan;
        fn(g[pre + "x"].data(), g[pre + "dt"].data(), g[pre + "dt_bias"].data(), g[pre + "A"].data(),
           g[pre + "B"].data(), g[pre + "C"].data(), g[pre + "D"].data(), s, state.data(), out.data());
        ExpectScaled(out, g[pre + "out_q" + qs], kGoldenTol, what + " out");
        ExpectScaled(state, g[pre + "state_q" + qs], kGoldenTol, what + " state");
        if (k == 1) {  // the clamp matters in this case: without it the result is far off
          SsdShape no_clamp = s;
          no_clamp.dt_min = 0.0f;
          no_clamp.dt_max = INFINITY;
          std::vector<float> st2 = g[pre + "state0"], out2(out.size());
          fn(g[pre + "x"].data(), g[pre + "dt"].data(), g[pre + "dt_bias"].data(), g[pre + "A"].data(),
             g[pre + "B"].data(), g[pre + "C"].data(), g[pre + "D"].data(), no_clamp, st2.data(), out2.data());
          EXPECT_GT(ScaledDiff(out2, g[pre + "out_q" + qs]), 100 * kGoldenTol) << what;
        }
      }
    }
  }
  ASSERT_TRUE(g.count("p2_x")) << "expected three prefill cases";
  // Decode steps (HF's selective_state_update applies no dt clamp; case 0 has none anyway).
  SsdShape s{1, int64_t(g["p0_num_heads"][0]), int64_t(g["p0_head_dim"][0]),
             int64_t(g["p0_num_groups"][0]), int64_t(g["p0_state_size"][0])};
  for (Impl impl : {Impl::kCpu, Impl::kRef}) {
    std::vector<float> state = g["p0_state_q8"];
    for (int j = 0; j < int(g["decode_steps"].at(0)); ++j) {
      const std::string pre = "d" + std::to_string(j) + "_";
      const std::string what = pre + (impl == Impl::kCpu ? "cpu" : "ref");
      std::vector<float> out(g[pre + "x"].size());
      if (impl == Impl::kCpu) {
        cpu::SsdScan(kThreads, g[pre + "x"].data(), g[pre + "dt"].data(), g["p0_dt_bias"].data(),
                     g["p0_A"].data(), g[pre + "B"].data(), g[pre + "C"].data(), g["p0_D"].data(), s,
                     state.data(), out.data());
      } else {
        ref::SsdScan(g[pre + "x"].data(), g[pre + "dt"].data(), g["p0_dt_bias"].data(), g["p0_A"].data(),
                     g[pre + "B"].data(), g[pre + "C"].data(), g["p0_D"].data(), s, state.data(), out.data());
      }
      ExpectScaled(out, g[pre + "out"], kGoldenTol, what + " out");
      ExpectScaled(state, g[pre + "state"], kGoldenTol, what + " state");
    }
  }
  // MambaRMSNormGated.
  const GatedRmsNormShape ns{int64_t(g["norm_rows"].at(0)), int64_t(g["norm_dim"].at(0)),
                             int64_t(g["norm_group_size"].at(0)), 0, g["norm_eps"].at(0)};
  ASSERT_LT(ns.group_size, ns.dim);
  std::vector<float> out_cpu(ns.rows * ns.dim), out_ref(ns.rows * ns.dim);
  cpu::GatedRmsNorm(kThreads, g["norm_x"].data(), g["norm_z"].data(), g["norm_weight"].data(), ns, out_cpu.data());
  ref::GatedRmsNorm(g["norm_x"].data(), g["norm_z"].data(), g["norm_weight"].data(), ns, out_ref.data());
  ExpectScaled(out_cpu, g["norm_out"], kNormTol, "norm cpu");
  ExpectScaled(out_ref, g["norm_out"], kNormTol, "norm ref");
}

TEST(SsdTest, GatedRmsNormCpuMatchesReference) {
  struct NormCase {
    int64_t rows, dim, group_size, z_stride;
  };
  const NormCase cases[] = {{1, 64, 0, 0},   {3, 24, 8, 0},   {7, 30, 6, 0},    {5, 256, 64, 300},
                            {33, 40, 20, 85}, {2, 13, 13, 0}, {64, 512, 128, 0}, {4, 9, 3, 20}};
  uint32_t seed = 500;
  for (const NormCase& c : cases) {
    const GatedRmsNormShape s{c.rows, c.dim, c.group_size, c.z_stride, 1e-5f};
    const std::vector<float> x = RandomVector(c.rows * c.dim, seed += 3, -3.0f, 3.0f);
    const std::vector<float> z = RandomVector(c.rows * (c.z_stride ? c.z_stride : c.dim), seed + 1, -4.0f, 4.0f);
    const std::vector<float> w = RandomVector(c.dim, seed + 2);
    const std::string what = "rows " + std::to_string(c.rows) + " dim " + std::to_string(c.dim) +
                             " group " + std::to_string(c.group_size);
    for (bool gate : {true, false}) {
      const float* zp = gate ? z.data() : nullptr;
      std::vector<float> want(x.size()), got(x.size()), in_place = x;
      ref::GatedRmsNorm(x.data(), zp, w.data(), s, want.data());
      cpu::GatedRmsNorm(kThreads, x.data(), zp, w.data(), s, got.data());
      cpu::GatedRmsNorm(kThreads, in_place.data(), zp, w.data(), s, in_place.data());
      ExpectScaled(got, want, kNormTol, what + (gate ? " gated" : " no gate"));
      EXPECT_EQ(in_place, got) << what << " out over x";
    }
  }
}

// Both ops through the Backend interface: the CPU backend equals the reference backend, and each
// backend equals its kernel (so the wiring forwards every operand).
TEST(SsdTest, ThroughBackendInterface) {
  const Inputs in({77, 6, 10, 2, 12, 32}, true, 4242);
  const Result kernel_cpu = RunWhole(Impl::kCpu, in, in.Shape(77));
  const Result kernel_ref = RunWhole(Impl::kRef, in, in.Shape(77));
  const GatedRmsNormShape ns{77, 60, 20, in.XStride(), 1e-5f};
  const std::vector<float> w = RandomVector(60, 8);
  std::unique_ptr<Backend> backends[] = {MakeCpuBackend(kThreads), MakeReferenceBackend()};
  std::vector<float> norm_out[2];
  for (int b = 0; b < 2; ++b) {
    Backend& be = *backends[b];
    Result r{std::vector<float>(kernel_cpu.out.size()), in.state};
    be.SsdScan(in.X(0), in.Dt(0), in.dt_bias.data(), in.A.data(), in.B(0), in.C(0), in.D.data(),
               in.Shape(77), r.state.data(), r.out.data());
    const Result& kernel = b == 0 ? kernel_cpu : kernel_ref;
    const std::string name(be.name());
    EXPECT_EQ(r.out, kernel.out) << name;
    EXPECT_EQ(r.state, kernel.state) << name;
    ExpectScaled(r.out, kernel_ref.out, kCpuTol, name + " out vs reference");
    ExpectScaled(r.state, kernel_ref.state, kCpuTol, name + " state vs reference");
    // Norm of the scan output gated by the x columns of the strided rows (z_stride).
    norm_out[b].resize(r.out.size());
    be.GatedRmsNorm(r.out.data(), in.X(0), w.data(), ns, norm_out[b].data());
  }
  ExpectScaled(norm_out[0], norm_out[1], kNormTol + kCpuTol, "norm cpu vs reference backend");
}

}  // namespace
}  // namespace attnserve

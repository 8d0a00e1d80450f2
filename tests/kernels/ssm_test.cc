// Mamba-1 mixer kernels (kernels/ssm.h): CausalConv1dSilu and SelectiveScan.
//   - CPU vs reference on random inputs and random carried-in states: several (channels, N, K, T)
//     incl. K = 4, N = 16, channels and N not multiples of 8, T = 1..3 (the decode path) and
//     T = 37, K = 1, strided rows (x/z inside an in_proj-like [T, 2·channels] buffer, B/C inside
//     x_proj's output), the softplus threshold, optional bias / dt_bias / D / z left out;
//   - chunk invariance: one call of 50 tokens = calls of 13 + 1 + 36 with the states carried;
//   - a hand-computed case (channels 1, N 1, K 2);
//   - Hugging Face itself: tests/golden/ssm_kernels.json from tools/make_ssm_kernel_golden.py
//     (transformers' MambaMixer torch path: prefill of 9 tokens, then one cached decode token).
// Bounds are stated per test next to the assertion.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernels/ssm.h"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::RandomVector;

constexpr int kThreads = 2;

struct Case {
  int64_t channels, N, K, T;
};

// All inputs of one conv + scan call pair, random, with the row strides of the real model:
// x and z are the two halves of an in_proj row [T, 2·channels], B and C live in an x_proj row
// [T, rank + 2N] at offsets rank and rank + N.
struct Inputs {
  Case c;
  bool strided;
  int64_t rank = 3;
  std::vector<float> xz, conv_w, conv_b, conv_state, u, dt, dt_bias, A, bc, D, ssm_state;
  Inputs(Case cs, bool strided_rows, uint32_t seed, float dt_hi = 1.0f) : c(cs), strided(strided_rows) {
    const int64_t xz_cols = strided ? 2 * c.channels : c.channels;
    xz = RandomVector(c.T * xz_cols * (strided ? 1 : 2), seed + 1, -2.0f, 2.0f);
    conv_w = RandomVector(c.channels * c.K, seed + 2);
    conv_b = RandomVector(c.channels, seed + 3);
    conv_state = RandomVector(c.channels * (c.K - 1), seed + 4, -2.0f, 2.0f);
    u = RandomVector(c.T * c.channels, seed + 5, -2.0f, 2.0f);
    dt = RandomVector(c.T * c.channels, seed + 6, -4.0f, dt_hi);
    dt_bias = RandomVector(c.channels, seed + 7, -1.0f, 1.0f);
    A = RandomVector(c.channels * c.N, seed + 8, -4.0f, -0.1f);
    bc = RandomVector(c.T * BcStride(), seed + 9);
    D = RandomVector(c.channels, seed + 10);
    ssm_state = RandomVector(c.channels * c.N, seed + 11);
  }
  int64_t BcStride() const { return strided ? rank + 2 * c.N : 2 * c.N; }
  const float* X() const { return xz.data(); }
  const float* Z() const { return xz.data() + (strided ? c.channels : c.T * c.channels); }
  int64_t XzStride() const { return strided ? 2 * c.channels : c.channels; }
  const float* B() const { return bc.data() + (strided ? rank : 0); }
  const float* C() const { return bc.data() + (strided ? rank + c.N : c.N); }
  SsmConvShape ConvShape() const { return {c.T, c.channels, c.K, XzStride()}; }
  SelectiveScanShape ScanShape() const {
    return {c.T, c.channels, c.N, c.channels, c.channels, BcStride(), XzStride()};
  }
};

std::string Name(const Case& c) {
  return "channels " + std::to_string(c.channels) + " N " + std::to_string(c.N) + " K " +
         std::to_string(c.K) + " T " + std::to_string(c.T);
}

TEST(SsmTest, CpuMatchesReference) {
  const Case cases[] = {{20, 16, 4, 1}, {20, 16, 4, 37}, {1, 1, 2, 5},   {13, 5, 3, 37},
                        {64, 16, 4, 50}, {37, 16, 1, 8}, {130, 16, 4, 3}, {8, 8, 4, 2},
                        {13, 5, 3, 2},   {9, 12, 2, 1},  {3, 16, 1, 1},   {11, 1, 4, 3}};
  uint32_t seed = 100;
  for (const Case& cs : cases) {
    for (bool strided : {false, true}) {
      seed += 20;
      const Inputs in(cs, strided, seed, /*dt_hi=*/cs.channels == 13 ? 25.0f : 1.0f);
      const std::string what = Name(cs) + (strided ? " strided" : " dense");
      // Conv: f32 sums of K products vs double; |x|, |w| <= 2, 1: bound 1e-5 abs + 1e-5 rel.
      std::vector<float> st_cpu = in.conv_state, st_ref = in.conv_state;
      std::vector<float> out_cpu(cs.T * cs.channels), out_ref(cs.T * cs.channels);
      cpu::CausalConv1dSilu(kThreads, in.X(), in.conv_w.data(), in.conv_b.data(), in.ConvShape(),
                            st_cpu.data(), out_cpu.data());
      ref::CausalConv1dSilu(in.X(), in.conv_w.data(), in.conv_b.data(), in.ConvShape(),
                            st_ref.data(), out_ref.data());
      ExpectClose(out_cpu, out_ref, 1e-5, 1e-5, nullptr, what + " conv out");
      EXPECT_EQ(st_cpu, st_ref) << what << " conv state (a copy of inputs: exact)";

      // Scan: the state is a decaying sum of <= ~T terms of size <= delta·|B·u|; f32 exp (1-2 ulp)
      // and f32 accumulation vs double: bound 2e-5 abs + 2e-5 rel, on outputs and the state.
      std::vector<float> h_cpu = in.ssm_state, h_ref = in.ssm_state;
      std::vector<float> y_cpu(cs.T * cs.channels), y_ref(cs.T * cs.channels);
      cpu::SelectiveScan(kThreads, in.u.data(), in.dt.data(), in.dt_bias.data(), in.A.data(), in.B(),
                         in.C(), in.D.data(), in.Z(), in.ScanShape(), h_cpu.data(), y_cpu.data());
      ref::SelectiveScan(in.u.data(), in.dt.data(), in.dt_bias.data(), in.A.data(), in.B(), in.C(),
                         in.D.data(), in.Z(), in.ScanShape(), h_ref.data(), y_ref.data());
      ExpectClose(y_cpu, y_ref, 2e-5, 2e-5, nullptr, what + " scan out");
      ExpectClose(h_cpu, h_ref, 2e-5, 2e-5, nullptr, what + " scan state");
    }
  }
}

TEST(SsmTest, OptionalOperandsAndInPlaceOutput) {
  const Case cs{19, 16, 4, 7};
  const Inputs in(cs, false, 7);
  // No conv bias.
  {
    std::vector<float> st_cpu = in.conv_state, st_ref = in.conv_state;
    std::vector<float> out_cpu(cs.T * cs.channels), out_ref(cs.T * cs.channels);
    cpu::CausalConv1dSilu(kThreads, in.X(), in.conv_w.data(), nullptr, in.ConvShape(), st_cpu.data(),
                          out_cpu.data());
    ref::CausalConv1dSilu(in.X(), in.conv_w.data(), nullptr, in.ConvShape(), st_ref.data(),
                          out_ref.data());
    ExpectClose(out_cpu, out_ref, 1e-5, 1e-5, nullptr, "conv without bias");
  }
  // No dt_bias, D, z; and out written over u (allowed by the contract). Bounds as above.
  std::vector<float> h_cpu = in.ssm_state, h_ref = in.ssm_state;
  std::vector<float> y_cpu = in.u, y_ref(cs.T * cs.channels);
  cpu::SelectiveScan(kThreads, y_cpu.data(), in.dt.data(), nullptr, in.A.data(), in.B(), in.C(),
                     nullptr, nullptr, in.ScanShape(), h_cpu.data(), y_cpu.data());
  ref::SelectiveScan(in.u.data(), in.dt.data(), nullptr, in.A.data(), in.B(), in.C(), nullptr,
                     nullptr, in.ScanShape(), h_ref.data(), y_ref.data());
  ExpectClose(y_cpu, y_ref, 2e-5, 2e-5, nullptr, "scan without dt_bias/D/z, out over u");
  ExpectClose(h_cpu, h_ref, 2e-5, 2e-5, nullptr, "scan state without dt_bias/D/z");
}

// One call of 50 tokens vs 13 + 1 + 36 with the states carried. The CPU kernels update the states
// with the same f32 operations whatever the split (the 1-token call takes the decode path, which
// only sums y = C·h in another order), so the bound is 1e-6. The reference (f64 inside a call,
// f32 state between calls) gets 1e-5.
TEST(SsmTest, ChunkInvariance) {
  const Case whole{21, 16, 4, 50};
  const Inputs in(whole, true, 555);
  const int64_t splits[] = {13, 1, 36};
  for (bool use_cpu : {true, false}) {
    auto conv = [&](const float* x, SsmConvShape s, float* st, float* out) {
      if (use_cpu) {
        cpu::CausalConv1dSilu(kThreads, x, in.conv_w.data(), in.conv_b.data(), s, st, out);
      } else {
        ref::CausalConv1dSilu(x, in.conv_w.data(), in.conv_b.data(), s, st, out);
      }
    };
    auto scan = [&](int64_t t0, SelectiveScanShape s, float* h, float* out) {
      const float* u = in.u.data() + t0 * s.u_stride;
      const float* dt = in.dt.data() + t0 * s.dt_stride;
      const float* B = in.B() + t0 * s.bc_stride;
      const float* C = in.C() + t0 * s.bc_stride;
      const float* z = in.Z() + t0 * s.z_stride;
      if (use_cpu) {
        cpu::SelectiveScan(kThreads, u, dt, in.dt_bias.data(), in.A.data(), B, C, in.D.data(), z, s,
                           h, out);
      } else {
        ref::SelectiveScan(u, dt, in.dt_bias.data(), in.A.data(), B, C, in.D.data(), z, s, h, out);
      }
    };
    const int64_t ch = whole.channels;
    std::vector<float> st1 = in.conv_state, out1(whole.T * ch), h1 = in.ssm_state, y1(whole.T * ch);
    conv(in.X(), in.ConvShape(), st1.data(), out1.data());
    scan(0, in.ScanShape(), h1.data(), y1.data());

    std::vector<float> st2 = in.conv_state, out2(whole.T * ch), h2 = in.ssm_state, y2(whole.T * ch);
    int64_t t0 = 0;
    for (int64_t n : splits) {
      SsmConvShape cs = in.ConvShape();
      cs.num_tokens = n;
      conv(in.X() + t0 * cs.x_stride, cs, st2.data(), out2.data() + t0 * ch);
      SelectiveScanShape ss = in.ScanShape();
      ss.num_tokens = n;
      scan(t0, ss, h2.data(), y2.data() + t0 * ch);
      t0 += n;
    }
    ASSERT_EQ(t0, whole.T);
    const double tol = use_cpu ? 1e-6 : 1e-5;
    const std::string what = use_cpu ? "cpu" : "ref";
    ExpectClose(out2, out1, tol, tol, nullptr, what + " conv out");
    EXPECT_EQ(st2, st1) << what << " conv state";
    ExpectClose(y2, y1, tol, tol, nullptr, what + " scan out");
    ExpectClose(h2, h1, tol, tol, nullptr, what + " scan state");
  }
}

double SiluD(double x) { return x / (1.0 + std::exp(-x)); }

// channels 1, N 1, K 2, two tokens, non-zero starting states; the expected numbers are the
// formulas of kernels/ssm.h written out by hand. Bound 1e-6 abs + 1e-6 rel (f32 kernels).
TEST(SsmTest, HandComputedCase) {
  // Conv: w = [0.5, 2], bias 0.1, state [1], x = [2, -1]: xin = [1, 2, -1].
  const float w[2] = {0.5f, 2.0f}, bias[1] = {0.1f}, x[2] = {2.0f, -1.0f};
  const std::vector<float> want_conv = {float(SiluD(0.1 + 0.5 * 1 + 2 * 2)),       // silu(4.6)
                                        float(SiluD(0.1 + 0.5 * 2 + 2 * -1))};     // silu(-0.9)
  // Scan: A = -0.5, D = 0.25, dt_bias = 0.3, dt = [0.2, -0.3], B = [1.5, -1], C = [2, 0.5],
  // u = [1, 2], z = [1, -0.5], h = 0.4 at the start.
  const float A[1] = {-0.5f}, D[1] = {0.25f}, dt_bias[1] = {0.3f}, dt[2] = {0.2f, -0.3f};
  const float B[2] = {1.5f, -1.0f}, C[2] = {2.0f, 0.5f}, u[2] = {1.0f, 2.0f}, z[2] = {1.0f, -0.5f};
  const double d0 = std::log1p(std::exp(0.5)), d1 = std::log(2.0);  // softplus(0.2+0.3), (0)
  const double h1 = std::exp(-0.5 * d0) * 0.4 + d0 * 1.5 * 1.0;
  const double h2 = h1 / std::sqrt(2.0) - 2.0 * d1;  // exp(-0.5·ln 2) = 1/√2; d1·(-1)·2
  const std::vector<float> want_y = {float((2.0 * h1 + 0.25 * 1.0) * SiluD(1.0)),
                                     float((0.5 * h2 + 0.25 * 2.0) * SiluD(-0.5))};
  for (bool use_cpu : {true, false}) {
    const std::string what = use_cpu ? "cpu" : "ref";
    std::vector<float> conv_state = {1.0f}, out(2);
    const SsmConvShape cshape{2, 1, 2, 0};
    if (use_cpu) {
      cpu::CausalConv1dSilu(kThreads, x, w, bias, cshape, conv_state.data(), out.data());
    } else {
      ref::CausalConv1dSilu(x, w, bias, cshape, conv_state.data(), out.data());
    }
    ExpectClose(out, want_conv, 1e-6, 1e-6, nullptr, what + " conv");
    EXPECT_EQ(conv_state[0], -1.0f) << what;

    std::vector<float> h = {0.4f}, y(2);
    const SelectiveScanShape sshape{2, 1, 1, 0, 0, 0, 0};
    if (use_cpu) {
      cpu::SelectiveScan(kThreads, u, dt, dt_bias, A, B, C, D, z, sshape, h.data(), y.data());
    } else {
      ref::SelectiveScan(u, dt, dt_bias, A, B, C, D, z, sshape, h.data(), y.data());
    }
    ExpectClose(y, want_y, 1e-6, 1e-6, nullptr, what + " scan");
    ExpectClose(h, {float(h2)}, 1e-6, 1e-6, nullptr, what + " scan state");
  }
}

// Minimal reader for tools/make_ssm_kernel_golden.py's output: a flat JSON object whose values
// are numbers or arrays of numbers.
std::map<std::string, std::vector<float>> ReadGolden(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string s = ss.str();
  std::map<std::string, std::vector<float>> out;
  size_t p = 0;
  while ((p = s.find('"', p)) != std::string::npos) {
    const size_t e = s.find('"', p + 1);
    const std::string key = s.substr(p + 1, e - p - 1);
    p = s.find(':', e) + 1;
    std::vector<float>& v = out[key];
    const char* c = s.c_str() + p;
    while (*c == ' ') ++c;
    const bool array = *c == '[';
    if (array) ++c;
    while (true) {
      while (*c == ' ' || *c == ',') ++c;
      if (*c == ']' || *c == '\n' || *c == '}' || *c == '\0') break;
      char* next = nullptr;
      v.push_back(std::strtof(c, &next));
      c = next;
      if (!array) break;
    }
    p = size_t(c - s.c_str());
  }
  return out;
}

std::string GoldenPath() {
  const std::string here = __FILE__;  // .../tests/kernels/ssm_test.cc
  return here.substr(0, here.rfind('/')) + "/../golden/ssm_kernels.json";
}

// Hugging Face's own numbers (f32 torch): prefill of 9 tokens from zero states, then one decode
// token from the resulting states. Bound 1e-5 abs + 1e-5 rel on outputs and states.
TEST(SsmTest, MatchesHuggingFace) {
  auto g = ReadGolden(GoldenPath());
  ASSERT_FALSE(g.empty()) << "cannot read " << GoldenPath();
  const int64_t ch = int64_t(g["channels"][0]), N = int64_t(g["state_size"][0]);
  const int64_t K = int64_t(g["kernel_size"][0]), T = int64_t(g["num_tokens"][0]);
  ASSERT_EQ(int64_t(g["x"].size()), T * ch);
  ASSERT_EQ(int64_t(g["B"].size()), T * N);
  ASSERT_EQ(int64_t(g["conv_weight"].size()), ch * K);
  ASSERT_EQ(int64_t(g["A"].size()), ch * N);
  ASSERT_EQ(int64_t(g["scan_out"].size()), T * ch);
  ASSERT_EQ(int64_t(g["ssm_state"].size()), ch * N);
  ASSERT_EQ(int64_t(g["x1"].size()), ch);
  ASSERT_EQ(int64_t(g["ssm_state1"].size()), ch * N);
  for (bool use_cpu : {true, false}) {
    const std::string what = use_cpu ? "cpu" : "ref";
    std::vector<float> conv_state(ch * (K - 1), 0.0f), h(ch * N, 0.0f);
    for (int step = 0; step < 2; ++step) {  // 0: prefill of T tokens, 1: one decode token
      const std::string sfx = step == 0 ? "" : "1";
      const int64_t n = step == 0 ? T : 1;
      const std::string tag = what + (step == 0 ? " prefill" : " decode");
      std::vector<float> conv_out(n * ch), y(n * ch);
      const SsmConvShape cs{n, ch, K, 0};
      const SelectiveScanShape ss{n, ch, N, 0, 0, 0, 0};
      if (use_cpu) {
        cpu::CausalConv1dSilu(kThreads, g["x" + sfx].data(), g["conv_weight"].data(),
                              g["conv_bias"].data(), cs, conv_state.data(), conv_out.data());
      } else {
        ref::CausalConv1dSilu(g["x" + sfx].data(), g["conv_weight"].data(), g["conv_bias"].data(),
                              cs, conv_state.data(), conv_out.data());
      }
      ExpectClose(conv_out, g["conv_out" + sfx], 1e-5, 1e-5, nullptr, tag + " conv out");
      // HF's decode cache keeps K inputs; its last K-1 are our state.
      std::vector<float> want_state = g["conv_state" + sfx];
      if (int64_t(want_state.size()) == ch * K) {
        std::vector<float> tail;
        for (int64_t c = 0; c < ch; ++c) {
          tail.insert(tail.end(), want_state.begin() + c * K + 1, want_state.begin() + (c + 1) * K);
        }
        want_state = tail;
      }
      ExpectClose(conv_state, want_state, 0.0, 0.0, nullptr, tag + " conv state");
      // The scan consumes HF's own conv output (so this checks the scan alone).
      const std::vector<float>& u = g["conv_out" + sfx];
      if (use_cpu) {
        cpu::SelectiveScan(kThreads, u.data(), g["dt" + sfx].data(), g["dt_bias"].data(),
                           g["A"].data(), g["B" + sfx].data(), g["C" + sfx].data(), g["D"].data(),
                           g["z" + sfx].data(), ss, h.data(), y.data());
      } else {
        ref::SelectiveScan(u.data(), g["dt" + sfx].data(), g["dt_bias"].data(), g["A"].data(),
                           g["B" + sfx].data(), g["C" + sfx].data(), g["D"].data(),
                           g["z" + sfx].data(), ss, h.data(), y.data());
      }
      ExpectClose(y, g["scan_out" + sfx], 1e-5, 1e-5, nullptr, tag + " scan out");
      ExpectClose(h, g["ssm_state" + sfx], 1e-5, 1e-5, nullptr, tag + " scan state");
    }
  }
}

}  // namespace
}  // namespace attnserve

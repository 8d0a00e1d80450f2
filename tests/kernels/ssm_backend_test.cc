// The Mamba kernels through the Backend interface: the CPU backend's CausalConv1dSilu and
// SelectiveScan equal the reference backend's (kernels/ssm.h; the kernels themselves are tested in
// ssm_test.cc), outputs and updated states.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"

namespace attnserve {
namespace {

std::vector<float> Random(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(n);
  for (float& x : v) x = d(gen);
  return v;
}

void ExpectNear(const std::vector<float>& a, const std::vector<float>& b, float tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol + tol * std::fabs(b[i])) << i;
}

TEST(SsmBackendTest, CpuBackendMatchesReferenceBackend) {
  const int64_t T = 21, C = 13, K = 4, N = 16;
  const std::vector<float> x = Random(T * C, 1), w = Random(C * K, 2), bias = Random(C, 3);
  const std::vector<float> dt = Random(T * C, 4, -3.0f, 1.0f), dt_bias = Random(C, 5), D = Random(C, 6);
  const std::vector<float> B = Random(T * N, 7), Cm = Random(T * N, 8), z = Random(T * C, 9);
  std::vector<float> A = Random(C * N, 10, 0.1f, 2.0f);
  for (float& a : A) a = -a;
  std::vector<float> conv_out[2], conv_state[2], scan_out[2], ssm_state[2];
  auto cpu = MakeCpuBackend(2);
  auto ref = MakeReferenceBackend();
  Backend* backends[2] = {cpu.get(), ref.get()};
  for (int b = 0; b < 2; ++b) {
    conv_state[b] = Random(C * (K - 1), 11);
    ssm_state[b] = Random(C * N, 12);
    conv_out[b].resize(T * C);
    scan_out[b].resize(T * C);
    backends[b]->CausalConv1dSilu(x.data(), w.data(), bias.data(), {T, C, K, 0}, conv_state[b].data(),
                                  conv_out[b].data());
    backends[b]->SelectiveScan(conv_out[b].data(), dt.data(), dt_bias.data(), A.data(), B.data(), Cm.data(),
                               D.data(), z.data(), {T, C, N, 0, 0, 0, 0}, ssm_state[b].data(), scan_out[b].data());
  }
  ExpectNear(conv_out[0], conv_out[1], 1e-5f);
  ExpectNear(conv_state[0], conv_state[1], 0.0f);
  ExpectNear(scan_out[0], scan_out[1], 2e-5f);
  ExpectNear(ssm_state[0], ssm_state[1], 2e-5f);
}

}  // namespace
}  // namespace attnserve

// Linear: the CPU backend and each of its kernels (own GEMM, own GEMV, OpenBLAS) against the
// double-accumulating reference, on odd and serving-sized shapes, with and without bias.
// Bound per element: |y - ref| <= 1e-6 + 1e-5 * sum_p |x_ip * w_jp|  (f32 accumulation over k).
#include <cmath>
#include <sstream>
#include <tuple>

#include "kernels/backend.h"
#include "kernels/cpu/gemm.h"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::RandomVector;

struct Shape {
  int64_t m, n, k;
};

const Shape kShapes[] = {
    {1, 1, 1},     {1, 7, 9},     {1, 33, 65},   {1, 768, 768}, {2, 100, 77},  {3, 17, 31},
    {5, 24, 768},  {8, 50, 129},  {9, 40, 33},   {16, 130, 257}, {17, 19, 300}, {13, 800, 300},
    {64, 768, 768}, {100, 250, 513}, {150, 40, 20}, {7, 3, 5},
};

// Reference output and per-element magnitude sum_p |x w| for the bound.
struct Expected {
  std::vector<float> y, magnitude;
};

Expected ReferenceLinear(const std::vector<float>& x, const std::vector<float>& w,
                         const float* bias, const Shape& s) {
  auto ref = MakeReferenceBackend();
  Expected e{std::vector<float>(s.m * s.n), std::vector<float>(s.m * s.n)};
  ref->Linear(x.data(), w.data(), bias, e.y.data(), s.m, s.n, s.k);
  std::vector<float> ax(x.size()), aw(w.size());
  for (size_t i = 0; i < x.size(); ++i) ax[i] = std::fabs(x[i]);
  for (size_t i = 0; i < w.size(); ++i) aw[i] = std::fabs(w[i]);
  ref->Linear(ax.data(), aw.data(), nullptr, e.magnitude.data(), s.m, s.n, s.k);
  return e;
}

class LinearTest : public ::testing::TestWithParam<std::tuple<Shape, bool>> {};

TEST_P(LinearTest, CpuBackendMatchesReference) {
  const auto [s, with_bias] = GetParam();
  const auto x = RandomVector(s.m * s.k, 1), w = RandomVector(s.n * s.k, 2), b = RandomVector(s.n, 3);
  const float* bias = with_bias ? b.data() : nullptr;
  const Expected want = ReferenceLinear(x, w, bias, s);
  for (int threads : {1, 2}) {
    std::vector<float> y(s.m * s.n, -7.0f);
    MakeCpuBackend(threads)->Linear(x.data(), w.data(), bias, y.data(), s.m, s.n, s.k);
    ExpectClose(y, want.y, 1e-6, 1e-5, &want.magnitude, "threads=" + std::to_string(threads));
  }
}

TEST_P(LinearTest, EveryKernelMatchesReference) {
  const auto [s, with_bias] = GetParam();
  const auto x = RandomVector(s.m * s.k, 4), w = RandomVector(s.n * s.k, 5), b = RandomVector(s.n, 6);
  const float* bias = with_bias ? b.data() : nullptr;
  const Expected want = ReferenceLinear(x, w, bias, s);
  cpu::SetBlasThreads(1);
  const std::pair<cpu::LinearKernel, const char*> kernels[] = {
      {cpu::LinearKernel::kOwnGemm, "own gemm"},
      {cpu::LinearKernel::kOwnGemv, "own gemv"},
      {cpu::LinearKernel::kBlas, "openblas"}};
  for (const auto& [kernel, label] : kernels) {
    for (int threads : {1, 3}) {  // 3: uneven partitions
      std::vector<float> y(s.m * s.n, -7.0f);
      cpu::LinearParallel(kernel, threads, x.data(), w.data(), bias, y.data(), s.m, s.n, s.k);
      ExpectClose(y, want.y, 1e-6, 1e-5, &want.magnitude,
                  std::string(label) + " threads=" + std::to_string(threads));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, LinearTest,
                         ::testing::Combine(::testing::ValuesIn(kShapes), ::testing::Bool()),
                         [](const auto& info) {
                           const Shape& s = std::get<0>(info.param);
                           std::ostringstream name;
                           name << "m" << s.m << "_n" << s.n << "_k" << s.k
                                << (std::get<1>(info.param) ? "_bias" : "");
                           return name.str();
                         });

TEST(LinearEdgeTest, EmptyReductionGivesBias) {
  const std::vector<float> bias = {1.0f, -2.0f, 3.0f};
  std::vector<float> y(6, 99.0f);
  MakeCpuBackend(2)->Linear(nullptr, nullptr, bias.data(), y.data(), 2, 3, 0);
  EXPECT_EQ(y, (std::vector<float>{1, -2, 3, 1, -2, 3}));
}

}  // namespace
}  // namespace attnserve

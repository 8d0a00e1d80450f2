// Linear: the CPU backend and each of its kernels (own GEMM, own GEMV, own dot-tile, OpenBLAS)
// against the double-accumulating reference, on odd and serving-sized shapes, with and without
// bias; and every batch size m = 1..70 (continuous-batching decode) on odd shapes.
// Bound per element: |y - ref| <= 1e-6 + 1e-5 * sum_p |x_ip * w_jp|  (f32 accumulation over k).
#include <cmath>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
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
    {64, 768, 768}, {100, 250, 513}, {150, 40, 20}, {7, 3, 5}, {100, 21, 2100},
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
      {cpu::LinearKernel::kOwnDot, "own dot"},
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

// Batched decode: every m in 1..70 (all register-tile edges of the dot-tile kernel: m % 4, n % 3,
// n % 8 at m = 1, k % 8; and the kernel switches of ChooseLinearKernel) on shapes whose n and k are
// not multiples of 8, k from 1 to 1031. Same bound as above.
TEST(LinearBatchedDecodeTest, EveryBatchSizeMatchesReference) {
  const int64_t nk[][2] = {{1, 1}, {7, 3}, {13, 9}, {29, 67}, {50, 129}, {19, 300}, {35, 1031}};
  for (const auto& [n, k] : nk) {
    constexpr int64_t kMaxM = 70;
    const auto x_all = RandomVector(kMaxM * k, 7), w = RandomVector(n * k, 8),
               b = RandomVector(n, 9);
    for (int64_t m = 1; m <= kMaxM; ++m) {
      const Shape s{m, n, k};
      const std::vector<float> x(x_all.begin(), x_all.begin() + m * k);
      for (const float* bias : {static_cast<const float*>(nullptr), b.data()}) {
        const Expected want = ReferenceLinear(x, w, bias, s);
        const std::string what = "m=" + std::to_string(m) + " n=" + std::to_string(n) +
                                 " k=" + std::to_string(k) + (bias ? " bias" : "");
        for (int threads : {1, 3}) {
          std::vector<float> y(m * n, -7.0f);
          cpu::LinearParallel(cpu::LinearKernel::kOwnDot, threads, x.data(), w.data(), bias,
                              y.data(), m, n, k);
          ExpectClose(y, want.y, 1e-6, 1e-5, &want.magnitude,
                      "own dot " + what + " threads=" + std::to_string(threads));
        }
        std::vector<float> y(m * n, -7.0f);
        MakeCpuBackend(2)->Linear(x.data(), w.data(), bias, y.data(), m, n, k);
        ExpectClose(y, want.y, 1e-6, 1e-5, &want.magnitude, "backend " + what);
      }
    }
  }
}

// The dot-tile kernel computes every y element in the same order (8 lanes over k, one fixed
// horizontal reduction) whatever tile, m or thread split it lands in, so a row decoded alone and
// the same row inside a batch are bitwise equal (batch invariance, docs/architecture.md,
// "Correctness") for all m it serves.
TEST(LinearBatchedDecodeTest, DotTileRowsAreBitwiseIndependentOfBatch) {
  const int64_t n = 203, k = 389, m = 37;
  const auto x = RandomVector(m * k, 10), w = RandomVector(n * k, 11), b = RandomVector(n, 12);
  std::vector<float> batched(m * n);
  cpu::LinearParallel(cpu::LinearKernel::kOwnDot, 2, x.data(), w.data(), b.data(), batched.data(), m,
                      n, k);
  for (int64_t i = 0; i < m; ++i) {
    std::vector<float> alone(n);
    cpu::LinearParallel(cpu::LinearKernel::kOwnDot, 1, x.data() + i * k, w.data(), b.data(),
                        alone.data(), 1, n, k);
    for (int64_t j = 0; j < n; ++j) {
      ASSERT_EQ(alone[j], batched[i * n + j]) << "row " << i << " col " << j;
    }
  }
}

TEST(LinearEdgeTest, EmptyReductionGivesBias) {
  const std::vector<float> bias = {1.0f, -2.0f, 3.0f};
  std::vector<float> y(6, 99.0f);
  MakeCpuBackend(2)->Linear(nullptr, nullptr, bias.data(), y.data(), 2, 3, 0);
  EXPECT_EQ(y, (std::vector<float>{1, -2, 3, 1, -2, 3}));
}

}  // namespace
}  // namespace attnserve

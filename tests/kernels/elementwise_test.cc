// RmsNorm, LayerNorm, ApplyRope, SiluMul, GeluTanh, AddInPlace, LogSoftmax: the CPU backend against the reference on
// odd and serving-sized shapes (tails below one SIMD vector; sizes large enough to go parallel).
// Each test states its bound; all are a few f32 ulps of the magnitude involved.
#include <cmath>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::RandomVector;

class ElementwiseTest : public ::testing::TestWithParam<int> {
 protected:
  std::unique_ptr<Backend> ref_ = MakeReferenceBackend();
  std::unique_ptr<Backend> cpu_ = MakeCpuBackend(GetParam());
};

// Bound: |y - ref| <= 1e-7 + 2e-6 * |ref| (sum of squares in f32 over dim, then 2 roundings).
TEST_P(ElementwiseTest, RmsNorm) {
  const int64_t shapes[][2] = {{1, 1}, {3, 7}, {2, 64}, {50, 768}, {5, 4099}, {40, 2048}};
  for (const auto& [rows, dim] : shapes) {
    const auto x = RandomVector(rows * dim, 31, -3.0f, 3.0f), w = RandomVector(dim, 32, 0.5f, 1.5f);
    for (float eps : {1e-6f, 1e-5f}) {
      std::vector<float> want(x.size()), got(x.size());
      ref_->RmsNorm(x.data(), w.data(), want.data(), rows, dim, eps);
      cpu_->RmsNorm(x.data(), w.data(), got.data(), rows, dim, eps);
      ExpectClose(got, want, 1e-7, 2e-6, nullptr, "dim=" + std::to_string(dim));
      std::vector<float> inplace = x;  // y aliases x
      cpu_->RmsNorm(inplace.data(), w.data(), inplace.data(), rows, dim, eps);
      EXPECT_EQ(inplace, got);
    }
  }
}

// Bound: |x' - ref| <= 1e-6 (|x|, |cos|, |sin| <= 1: two products and one sum).
TEST_P(ElementwiseTest, ApplyRope) {
  const int64_t shapes[][3] = {{1, 1, 16}, {5, 3, 32}, {7, 4, 64}, {33, 12, 128}, {3, 2, 20}, {600, 8, 64}};
  for (const auto& [tokens, heads, dim] : shapes) {
    const auto x = RandomVector(tokens * heads * dim, 41);
    const auto cos = RandomVector(tokens * dim / 2, 42), sin = RandomVector(tokens * dim / 2, 43);
    std::vector<float> want = x, got = x;
    ref_->ApplyRope(want.data(), cos.data(), sin.data(), tokens, heads, dim);
    cpu_->ApplyRope(got.data(), cos.data(), sin.data(), tokens, heads, dim);
    ExpectClose(got, want, 1e-6, 0.0, nullptr, "head_dim=" + std::to_string(dim));
  }
}

// Bound: |out - ref| <= 1e-30 + 4e-6 * |ref| (vector exp is within 2 ulp of expf).
TEST_P(ElementwiseTest, SiluMul) {
  for (int64_t n : {1, 7, 8, 1000, 100003}) {
    const auto gate = RandomVector(n, 51, -20.0f, 20.0f), up = RandomVector(n, 52, -2.0f, 2.0f);
    std::vector<float> want(n), got(n);
    ref_->SiluMul(gate.data(), up.data(), want.data(), n);
    cpu_->SiluMul(gate.data(), up.data(), got.data(), n);
    ExpectClose(got, want, 1e-30, 4e-6, nullptr, "n=" + std::to_string(n));
    std::vector<float> inplace = gate;  // out aliases gate
    cpu_->SiluMul(inplace.data(), up.data(), inplace.data(), n);
    EXPECT_EQ(inplace, got);
  }
}

// Exact: one f32 addition per element.
TEST_P(ElementwiseTest, AddInPlace) {
  for (int64_t n : {1, 9, 100003}) {
    const auto x = RandomVector(n, 61), y0 = RandomVector(n, 62);
    std::vector<float> want = y0, got = y0;
    ref_->AddInPlace(want.data(), x.data(), n);
    cpu_->AddInPlace(got.data(), x.data(), n);
    EXPECT_EQ(got, want);
  }
}

// Bound: |y - ref| <= 2e-6 * (1 + |ref|) (f32 sum of exps; logits spread over [-10, 10)).
TEST_P(ElementwiseTest, LogSoftmax) {
  const int64_t shapes[][2] = {{1, 1}, {2, 5}, {3, 33}, {4, 32000}, {1, 50257}};
  for (const auto& [rows, n] : shapes) {
    const auto x = RandomVector(rows * n, 71, -10.0f, 10.0f);
    std::vector<float> want(x.size()), got(x.size());
    ref_->LogSoftmax(x.data(), want.data(), rows, n);
    cpu_->LogSoftmax(x.data(), got.data(), rows, n);
    std::vector<float> mag(x.size());
    for (size_t i = 0; i < x.size(); ++i) mag[i] = 1.0f + std::fabs(want[i]);
    ExpectClose(got, want, 0.0, 2e-6, &mag, "n=" + std::to_string(n));
    std::vector<float> inplace = x;  // y aliases x
    cpu_->LogSoftmax(inplace.data(), inplace.data(), rows, n);
    EXPECT_EQ(inplace, got);
  }
}

// Bound: |y - ref| <= 2e-6 * (1 + |ref|) (f32 mean and variance over dim, then 3 roundings; the
// inputs carry an offset so the mean matters). Bias and weight are per column.
TEST_P(ElementwiseTest, LayerNorm) {
  const int64_t shapes[][2] = {{1, 1}, {3, 7}, {2, 64}, {50, 768}, {5, 4099}, {40, 2048}};
  for (const auto& [rows, dim] : shapes) {
    const auto x = RandomVector(rows * dim, 33, 2.0f, 8.0f), w = RandomVector(dim, 34, 0.5f, 1.5f);
    const auto b = RandomVector(dim, 35, -1.0f, 1.0f);
    for (float eps : {1e-5f, 1e-3f}) {
      std::vector<float> want(x.size()), got(x.size());
      ref_->LayerNorm(x.data(), w.data(), b.data(), want.data(), rows, dim, eps);
      cpu_->LayerNorm(x.data(), w.data(), b.data(), got.data(), rows, dim, eps);
      std::vector<float> mag(x.size());
      for (size_t i = 0; i < x.size(); ++i) mag[i] = 1.0f + std::fabs(want[i]);
      ExpectClose(got, want, 0.0, 2e-6, &mag, "dim=" + std::to_string(dim));
      std::vector<float> inplace = x;  // y aliases x
      cpu_->LayerNorm(inplace.data(), w.data(), b.data(), inplace.data(), rows, dim, eps);
      EXPECT_EQ(inplace, got);
    }
  }
}

// Hand values: [1, 2, 3, 4] has mean 2.5 and biased variance 1.25, so (x - mean) / sqrt(1.25)
// = ±0.4472136, ±1.3416408; weight 2 and bias 1 give 2·that + 1. A constant row normalises to
// the bias (variance 0, eps keeps it finite).
TEST_P(ElementwiseTest, LayerNormHandValues) {
  const std::vector<float> x = {1, 2, 3, 4, 5, 5, 5, 5}, w(4, 2.0f), b(4, 1.0f);
  const std::vector<float> want = {1 - 2 * 1.3416408f, 1 - 2 * 0.4472136f, 1 + 2 * 0.4472136f, 1 + 2 * 1.3416408f,
                                   1, 1, 1, 1};
  for (Backend* be : {ref_.get(), cpu_.get()}) {
    std::vector<float> y(8);
    be->LayerNorm(x.data(), w.data(), b.data(), y.data(), 2, 4, 1e-12f);
    ExpectClose(y, want, 1e-5, 0.0, nullptr, std::string(be->name()));
  }
}

// Bound: |y - ref| <= 1e-30 + 4e-6 * |ref| + 1e-7 (x·sigmoid(2u) with the vector exp against the
// formula with tanh in double; they are equal in exact arithmetic).
TEST_P(ElementwiseTest, GeluTanh) {
  for (int64_t n : {1, 7, 8, 1000, 100003}) {
    const auto x = RandomVector(n, 53, -12.0f, 12.0f);
    std::vector<float> want(n), got(n);
    ref_->GeluTanh(x.data(), want.data(), n);
    cpu_->GeluTanh(x.data(), got.data(), n);
    ExpectClose(got, want, 1e-7, 4e-6, nullptr, "n=" + std::to_string(n));
    std::vector<float> inplace = x;  // y aliases x
    cpu_->GeluTanh(inplace.data(), inplace.data(), n);
    EXPECT_EQ(inplace, got);
  }
}

// Hand values (python: v * 0.5 * (1 + math.tanh(0.79788456 * v * (1 + 0.044715 * v * v)))).
TEST_P(ElementwiseTest, GeluTanhHandValues) {
  const std::vector<float> x = {0.0f, 1.0f, -1.0f, 3.0f, -3.0f, 0.5f, 40.0f, -40.0f};
  const std::vector<float> want = {0.0f, 0.8411919904f, -0.1588080096f, 2.9963626079f, -0.0036373921f,
                                   0.3457140097f, 40.0f, 0.0f};
  for (Backend* be : {ref_.get(), cpu_.get()}) {
    std::vector<float> y(x.size());
    be->GeluTanh(x.data(), y.data(), static_cast<int64_t>(x.size()));
    ExpectClose(y, want, 1e-7, 1e-6, nullptr, std::string(be->name()));
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, ElementwiseTest, ::testing::Values(1, 2),
                         [](const auto& info) { return "threads" + std::to_string(info.param); });

}  // namespace
}  // namespace attnserve

// Weight dtypes (kernels/dtype.h): the f32 <-> bf16/f16/q8_0/q4_0 conversions (rounding, ggml's
// block layout, exact round trips) and Backend::Linear / GetRows with typed weights on the CPU
// backend against the reference backend (which widens the weight to f32 exactly), for every
// dtype × decode and prefill sizes × odd shapes, with and without bias.
// bf16 / f16 at every m, and q8_0 / q4_0 at m >= kInt8FusedMaxRows, multiply the exactly widened
// f32 weight with f32 activations: the bound is f32 accumulation's, per element
// |y − ref| <= 1e-5 · Σ_p |x w| + 1e-6, and below m = 128 the result equals the f32 kernel's on the
// widened weight bit for bit (batch invariance across kernel regimes).
// q8_0 / q4_0 below kInt8FusedMaxRows quantize x to int8 blocks (llama.cpp's scheme): normalised
// mean squared error Σ(y − ref)² / Σ ref² <= 2e-4 (the int8 rounding of x is ~(1/254)²/3 of the
// block maximum squared per element; measured ~1e-5 on these uniform inputs).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/backend_registry.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
#include "kernels/cpu/gemm_typed.h"
#include "kernels/dtype_convert.h"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {
namespace {

using testing::AbsDotSums;
using testing::ExpectClose;
using testing::RandomVector;

std::vector<unsigned char> Encode(DType dtype, const std::vector<float>& x) {
  std::vector<unsigned char> out(DTypeRowBytes(dtype, static_cast<int64_t>(x.size())));
  ConvertFromF32(dtype, x.data(), out.data(), x.size());
  return out;
}

std::vector<float> Decode(DType dtype, const std::vector<unsigned char>& bytes, size_t n) {
  std::vector<float> out(n);
  ConvertToF32(dtype, bytes.data(), out.data(), n);
  return out;
}

TEST(DTypeTest, NamesSizesAndParse) {
  EXPECT_STREQ(DTypeName(DType::kBF16), "bfloat16");
  EXPECT_STREQ(DTypeName(DType::kQ4_0), "q4_0");
  EXPECT_EQ(ParseDType("bf16"), DType::kBF16);
  EXPECT_EQ(ParseDType("float16"), DType::kF16);
  EXPECT_EQ(ParseDType("q8_0"), DType::kQ8_0);
  EXPECT_EQ(ParseDType("f8"), std::nullopt);
  EXPECT_EQ(DTypeRowBytes(DType::kQ8_0, 64), 68u);
  EXPECT_EQ(DTypeRowBytes(DType::kQ4_0, 64), 36u);
  EXPECT_EQ(DTypeRowBytes(DType::kBF16, 7), 14u);
}

TEST(DTypeConvertTest, Bf16RoundsToNearestEven) {
  // 1 + 2^-8 lies halfway between bf16 1.0 and 1 + 2^-7: ties go to the even mantissa (1.0).
  EXPECT_EQ(F32ToBF16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);
  // 1 + 3·2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: rounds up to even.
  EXPECT_EQ(F32ToBF16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(F32ToBF16Bits(1.0f + 1.5f * std::ldexp(1.0f, -8)), 0x3f81);  // above halfway
  EXPECT_TRUE(std::isnan(BF16BitsToF32(F32ToBF16Bits(std::nanf("")))));
  EXPECT_EQ(F32ToBF16Bits(-2.0f), 0xc000);
}

TEST(DTypeConvertTest, F16RoundTripAndOverflow) {
  EXPECT_EQ(F32ToF16Bits(1.0f), 0x3c00);
  EXPECT_EQ(F16BitsToF32(F32ToF16Bits(0.333251953125f)), 0.333251953125f);  // exactly representable
  EXPECT_TRUE(std::isinf(F16BitsToF32(F32ToF16Bits(1e6f))));
}

TEST(DTypeConvertTest, WidenNarrowIsExactForRepresentableValues) {
  for (DType dtype : {DType::kBF16, DType::kF16}) {
    std::vector<float> x = Decode(dtype, Encode(dtype, RandomVector(1000, 3)), 1000);  // representable
    EXPECT_EQ(Decode(dtype, Encode(dtype, x), x.size()), x) << DTypeName(dtype);
  }
}

// Values k·0.5 for k in -8..7: q4_0's d = -4 / -8 = 0.5 and q = k + 8, exactly; also checks the
// nibble layout (element i < 16 in the low nibble of byte i, element i + 16 in the high nibble).
TEST(DTypeConvertTest, Q4_0LayoutAndExactValues) {
  std::vector<float> x(32);
  for (int i = 0; i < 32; ++i) x[i] = 0.5f * ((i * 5) % 16 - 8);
  x[0] = -4.0f;  // the value of largest magnitude, negative: d = 0.5 exactly
  const std::vector<unsigned char> bytes = Encode(DType::kQ4_0, x);
  BlockQ4_0 block;
  std::memcpy(&block, bytes.data(), sizeof(block));
  EXPECT_EQ(F16BitsToF32(block.d), 0.5f);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(block.qs[i] & 15, int(x[i] / 0.5f) + 8) << i;
    EXPECT_EQ(block.qs[i] >> 4, int(x[i + 16] / 0.5f) + 8) << i;
  }
  EXPECT_EQ(Decode(DType::kQ4_0, bytes, 32), x);
}

// Values on the grid of each format come back exactly: q4_1 (d = 0.25, m = -1: x = -1 + 0.25 n),
// q5_0 (the largest magnitude -4: d = 0.25, x = 0.25 (q - 16)), q5_1 (d = 0.125, m = -2), with the
// nibble / fifth-bit layout checked on the bytes.
TEST(DTypeConvertTest, Q4_1Q5_0Q5_1LayoutAndExactValues) {
  std::vector<float> x41(32), x50(32), x51(32);
  for (int i = 0; i < 32; ++i) {
    x41[i] = -1.0f + 0.25f * ((i * 7) % 16);
    x50[i] = 0.25f * ((i * 11) % 32 - 16);
    x51[i] = -2.0f + 0.125f * ((i * 13) % 32);
  }
  x41[0] = -1.0f, x41[1] = 2.75f;  // min and max: d = 3.75 / 15
  x50[0] = -4.0f;                  // largest magnitude, negative: d = 0.25
  x51[0] = -2.0f, x51[1] = 1.875f; // d = 3.875 / 31 = 0.125
  const std::vector<unsigned char> b41 = Encode(DType::kQ4_1, x41);
  BlockQ4_1 q41;
  std::memcpy(&q41, b41.data(), sizeof(q41));
  EXPECT_EQ(F16BitsToF32(q41.d), 0.25f);
  EXPECT_EQ(F16BitsToF32(q41.m), -1.0f);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(q41.qs[i] & 15, int((x41[i] + 1.0f) / 0.25f)) << i;
  EXPECT_EQ(Decode(DType::kQ4_1, b41, 32), x41);

  const std::vector<unsigned char> b50 = Encode(DType::kQ5_0, x50);
  BlockQ5_0 q50;
  std::memcpy(&q50, b50.data(), sizeof(q50));
  EXPECT_EQ(F16BitsToF32(q50.d), 0.25f);
  uint32_t qh;
  std::memcpy(&qh, q50.qh, 4);
  for (int i = 0; i < 16; ++i) {
    const int lo = int(x50[i] / 0.25f) + 16, hi = int(x50[i + 16] / 0.25f) + 16;
    EXPECT_EQ(q50.qs[i] & 15, lo & 15) << i;
    EXPECT_EQ(q50.qs[i] >> 4, hi & 15) << i;
    EXPECT_EQ((qh >> i) & 1, unsigned(lo >> 4)) << i;
    EXPECT_EQ((qh >> (i + 16)) & 1, unsigned(hi >> 4)) << i;
  }
  EXPECT_EQ(Decode(DType::kQ5_0, b50, 32), x50);

  const std::vector<unsigned char> b51 = Encode(DType::kQ5_1, x51);
  EXPECT_EQ(b51.size(), sizeof(BlockQ5_1));
  EXPECT_EQ(Decode(DType::kQ5_1, b51, 32), x51);
}

TEST(DTypeConvertTest, Q8_0ScaleAndRounding) {
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = 0.01f * (i - 20);
  const std::vector<unsigned char> bytes = Encode(DType::kQ8_0, x);
  ASSERT_EQ(bytes.size(), 68u);
  for (int b = 0; b < 2; ++b) {
    BlockQ8_0 block;
    std::memcpy(&block, bytes.data() + b * sizeof(block), sizeof(block));
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    EXPECT_EQ(block.d, F32ToF16Bits(amax / 127.0f));
    for (int i = 0; i < 32; ++i) {
      EXPECT_EQ(block.qs[i], static_cast<int8_t>(std::roundf(x[b * 32 + i] * (127.0f / amax)))) << b << " " << i;
    }
  }
  const std::vector<float> back = Decode(DType::kQ8_0, bytes, 64);
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(back[i], x[i], 0.44f / 127.0f * 0.5f + 1e-3f) << i;
}

TEST(DTypeConvertTest, QuantizeRowsQ8MatchesScalarRounding) {
  const std::vector<float> x = RandomVector(3 * 96, 11, -3.0f, 2.0f);
  std::vector<int8_t> qs(x.size());
  std::vector<float> d(x.size() / 32);
  cpu::QuantizeRowsQ8(x.data(), 3, 96, qs.data(), d.data());
  for (size_t b = 0; b < d.size(); ++b) {
    float amax = 0.0f;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
    EXPECT_FLOAT_EQ(d[b], amax / 127.0f);
    for (int i = 0; i < 32; ++i) {
      EXPECT_EQ(qs[b * 32 + i], static_cast<int8_t>(std::nearbyintf(x[b * 32 + i] * (127.0f / amax))));
    }
  }
}

struct Case {
  int64_t m, n, k;
};

double Nmse(const std::vector<float>& got, const std::vector<float>& want) {
  double num = 0.0, den = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
    den += double(want[i]) * want[i];
  }
  return num / den;
}

}  // namespace

// x f32[m, w.cols] · w^T on the CPU backend: one thread and two give the same rows, and each row
// alone gives what it gives inside the batch (shared with kquant_test.cc).
void ExpectRowsBatchAndThreadInvariant(const WeightMatrix& w, const std::vector<float>& x, int64_t m) {
  const int64_t n = w.rows, k = w.cols;
  auto one = MakeCpuBackend(1), two = MakeCpuBackend(2);
  std::vector<float> batched(m * n), threaded(m * n);
  one->Linear(x.data(), w, nullptr, batched.data(), m);
  two->Linear(x.data(), w, nullptr, threaded.data(), m);
  EXPECT_EQ(batched, threaded) << DTypeName(w.dtype);
  for (int64_t i = 0; i < m; ++i) {
    std::vector<float> alone(n);
    two->Linear(x.data() + i * k, w, nullptr, alone.data(), 1);
    EXPECT_EQ(alone, std::vector<float>(batched.begin() + i * n, batched.begin() + (i + 1) * n))
        << DTypeName(w.dtype) << " row " << i;
  }
}

namespace {

class TypedLinearTest : public ::testing::TestWithParam<DType> {};

TEST_P(TypedLinearTest, MatchesReferenceOnDecodeAndPrefillShapes) {
  const DType dtype = GetParam();
  auto cpu = MakeCpuBackend(2);
  auto ref = MakeReferenceBackend();
  const bool block = IsBlockDType(dtype);
  static_assert(cpu::kInt8FusedMaxRows < 16 && cpu::kWideningFusedMaxRows < 130,
                "cases below cover every kernel regime");
  std::vector<Case> cases = {{1, 37, 64}, {1, 200, 96}, {2, 33, 128}, {3, 64, 32},  {5, 19, 160},
                             {7, 70, 64}, {8, 50, 96},  {16, 130, 64}, {70, 33, 64}, {130, 40, 96}, {1, 768, 576}};
  if (!block) cases.insert(cases.end(), {{1, 9, 7}, {3, 17, 45}, {9, 21, 13}});  // k tails
  uint32_t seed = 1;
  for (const Case& c : cases) {
    for (bool with_bias : {false, true}) {
      const std::vector<float> x = RandomVector(c.m * c.k, seed++);
      const std::vector<float> w32 = RandomVector(c.n * c.k, seed++);
      const std::vector<float> bias = RandomVector(c.n, seed++);
      const std::vector<unsigned char> wq = Encode(dtype, w32);
      const WeightMatrix w{dtype, wq.data(), c.n, c.k};
      const float* b = with_bias ? bias.data() : nullptr;
      std::vector<float> want(c.m * c.n), got(c.m * c.n, NAN);
      ref->Linear(x.data(), w, b, want.data(), c.m);
      cpu->Linear(x.data(), w, b, got.data(), c.m);
      const std::string what = std::string(DTypeName(dtype)) + " m=" + std::to_string(c.m) +
                               " n=" + std::to_string(c.n) + " k=" + std::to_string(c.k);
      if (block && c.m < cpu::kInt8FusedMaxRows) {
        EXPECT_LE(Nmse(got, want), 2e-4) << what;
        continue;
      }
      // Magnitude Σ_p |x w| of the widened weight, as linear_test.cc bounds f32 accumulation.
      const std::vector<float> wide = Decode(dtype, wq, w32.size());
      const std::vector<float> mag = AbsDotSums(x, wide, c.m, c.n, c.k);
      ExpectClose(got, want, 1e-6, 1e-5, &mag, what);
      if (c.m < 128) {
        std::vector<float> f32(c.m * c.n);
        cpu->Linear(x.data(), wide.data(), b, f32.data(), c.m, c.n, c.k);
        EXPECT_EQ(got, f32) << what << ": differs from the f32 kernel on the widened weight";
      }
    }
  }
}

// Exact activations (quantize_activations = false, or a matrix marked exact_activations) at the
// small m of decode: block dtypes decoded in registers against f32 x (gemm_block_f32_avx2.cc)
// stay within f32 accumulation error of the reference, with and without bias.
class BlockDTypeLinearTest : public ::testing::TestWithParam<DType> {};

TEST_P(BlockDTypeLinearTest, ExactActivationsMatchReferenceAtSmallM) {
  const DType dtype = GetParam();
  auto exact = MakeBackend("cpu", {2, /*quantize_activations=*/false}).value();
  auto quantizing = MakeCpuBackend(2);
  auto ref = MakeReferenceBackend();
  uint32_t seed = 100;
  for (const Case& c : std::vector<Case>{{1, 37, 64}, {2, 33, 128}, {3, 64, 32}, {5, 19, 160}, {7, 70, 96}}) {
    for (bool with_bias : {false, true}) {
      const std::vector<float> x = RandomVector(c.m * c.k, seed++), w32 = RandomVector(c.n * c.k, seed++);
      const std::vector<float> bias = RandomVector(c.n, seed++);
      const std::vector<unsigned char> wq = Encode(dtype, w32);
      WeightMatrix w{dtype, wq.data(), c.n, c.k};
      const float* b = with_bias ? bias.data() : nullptr;
      std::vector<float> want(c.m * c.n), got(c.m * c.n, NAN), marked(c.m * c.n, NAN);
      ref->Linear(x.data(), w, b, want.data(), c.m);
      exact->Linear(x.data(), w, b, got.data(), c.m);
      w.exact_activations = true;
      quantizing->Linear(x.data(), w, b, marked.data(), c.m);
      const std::vector<float> wide = Decode(dtype, wq, w32.size());
      const std::vector<float> mag = AbsDotSums(x, wide, c.m, c.n, c.k);
      const std::string what = std::string(DTypeName(dtype)) + " m=" + std::to_string(c.m);
      ExpectClose(got, want, 1e-6, 1e-5, &mag, what);
      EXPECT_EQ(marked, got) << what << ": an exact_activations matrix takes the exact path";
    }
  }
}

// A row's output does not depend on the other rows of the call or on the thread count: bf16 /
// f16 across kernel regimes (m = 1 fused kernel vs m = 70 widened tiles), q8_0 / q4_0 within the
// int8 regime (m = 5).
TEST_P(TypedLinearTest, RowsAreBatchAndThreadInvariant) {
  const DType dtype = GetParam();
  const int64_t m = IsBlockDType(dtype) ? 5 : 70, n = 300, k = 128;
  const std::vector<float> x = RandomVector(m * k, 21), w32 = RandomVector(n * k, 22);
  const std::vector<unsigned char> wq = Encode(dtype, w32);
  ExpectRowsBatchAndThreadInvariant({dtype, wq.data(), n, k}, x, m);
}

TEST_P(TypedLinearTest, GetRowsWidensTheChosenRows) {
  const DType dtype = GetParam();
  const int64_t rows = 50, cols = 64;
  const std::vector<unsigned char> table = Encode(dtype, RandomVector(rows * cols, 5));
  const std::vector<float> wide = Decode(dtype, table, rows * cols);
  const WeightMatrix t{dtype, table.data(), rows, cols};
  const std::vector<int32_t> ids = {3, 0, 49, 3};
  for (auto& be : {MakeCpuBackend(2), MakeReferenceBackend()}) {
    std::vector<float> out(ids.size() * cols);
    be->GetRows(t, ids.data(), static_cast<int64_t>(ids.size()), out.data());
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(std::vector<float>(out.begin() + i * cols, out.begin() + (i + 1) * cols),
                std::vector<float>(wide.begin() + ids[i] * cols, wide.begin() + (ids[i] + 1) * cols))
          << be->name() << " row " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllDTypes, TypedLinearTest,
                         ::testing::Values(DType::kF32, DType::kBF16, DType::kF16, DType::kQ8_0,
                                           DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });
INSTANTIATE_TEST_SUITE_P(BlockDTypes, BlockDTypeLinearTest,
                         ::testing::Values(DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

}  // namespace
}  // namespace attnserve

// Tests f16/bf16 -> f32 conversion: known values (subnormals, inf, nan, -0) and every bit pattern
// against a bit-level reference, through both the vector body and the scalar tail.
#include "kernels/dtype_convert.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "gtest/gtest.h"

namespace attnserve {
namespace {

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// IEEE binary16 decoded by arithmetic, independent of F16C.
float ReferenceF16(uint16_t h) {
  const int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0) v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31) v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else v = std::ldexp(static_cast<float>(1024 + mant), exp - 25);
  return sign ? -v : v;
}

TEST(DTypeConvert, Sizes) {
  EXPECT_EQ(DTypeBlockBytes(DType::kF32), 4u);
  EXPECT_EQ(DTypeBlockBytes(DType::kF16), 2u);
  EXPECT_EQ(DTypeBlockBytes(DType::kBF16), 2u);
  EXPECT_STREQ(DTypeName(DType::kBF16), "bfloat16");
}

TEST(DTypeConvert, F16KnownValues) {
  EXPECT_EQ(F16BitsToF32(0x3C00), 1.0f);
  EXPECT_EQ(F16BitsToF32(0xC000), -2.0f);
  EXPECT_EQ(F16BitsToF32(0x7BFF), 65504.0f);                 // largest normal
  EXPECT_EQ(F16BitsToF32(0x0400), std::ldexp(1.0f, -14));    // smallest normal
  EXPECT_EQ(F16BitsToF32(0x0001), std::ldexp(1.0f, -24));    // smallest subnormal
  EXPECT_EQ(F16BitsToF32(0x03FF), std::ldexp(1023.0f, -24)); // largest subnormal
  EXPECT_EQ(F16BitsToF32(0x8001), -std::ldexp(1.0f, -24));
  EXPECT_EQ(F16BitsToF32(0x3555), 0.333251953125f);
  EXPECT_EQ(F16BitsToF32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(F16BitsToF32(0xFC00), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(F16BitsToF32(0x7E00)));
  EXPECT_EQ(Bits(F16BitsToF32(0x8000)), 0x80000000u);        // -0 keeps its sign
}

TEST(DTypeConvert, BF16KnownValues) {
  EXPECT_EQ(BF16BitsToF32(0x3F80), 1.0f);
  EXPECT_EQ(BF16BitsToF32(0xC040), -3.0f);
  EXPECT_EQ(BF16BitsToF32(0x0001), std::ldexp(1.0f, -133));  // subnormal
  EXPECT_EQ(BF16BitsToF32(0x7F80), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(BF16BitsToF32(0x7FC0)));
}

// All 65536 patterns, converted as one array at every start misalignment (vector body + tail).
TEST(DTypeConvert, EveryF16PatternMatchesReference) {
  std::vector<uint16_t> all(65536 + 1);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  for (size_t skew_bytes : {0, 1}) {  // 1: the source starts at an odd address
    std::vector<unsigned char> src(all.size() * 2 + 1);
    std::memcpy(src.data() + skew_bytes, all.data(), 65536 * 2);
    std::vector<float> dst(65536);
    ConvertToF32(DType::kF16, src.data() + skew_bytes, dst.data(), 65536);
    for (uint32_t i = 0; i < 65536; ++i) {
      const float want = ReferenceF16(static_cast<uint16_t>(i));
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(dst[i])) << i;
      } else {
        ASSERT_EQ(Bits(dst[i]), Bits(want)) << "f16 bits 0x" << std::hex << i;
      }
    }
  }
}

TEST(DTypeConvert, EveryBF16PatternIsAShift) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  for (size_t n : {65536, 65535, 17, 15, 1}) {
    std::vector<float> dst(n);
    ConvertToF32(DType::kBF16, all.data() + (65536 - n), dst.data(), n);
    for (size_t j = 0; j < n; ++j) {
      ASSERT_EQ(Bits(dst[j]), static_cast<uint32_t>(all[65536 - n + j]) << 16) << n << " " << j;
    }
  }
}

TEST(DTypeConvert, F32IsACopy) {
  const std::vector<float> src = {1.5f, -0.0f, 3e-42f, std::numeric_limits<float>::infinity()};
  std::vector<float> dst(src.size());
  ConvertToF32(DType::kF32, src.data(), dst.data(), src.size());
  for (size_t i = 0; i < src.size(); ++i) EXPECT_EQ(Bits(dst[i]), Bits(src[i]));
}

}  // namespace
}  // namespace attnserve

// K-quants (q4_k, q5_k, q6_k; kernels/dtype.h): decoding equals gguf-py's dequantizer bit for bit
// on random super-blocks (tests/golden/quant_blocks/kquants.json, tools/make_quant_golden.py), and
// Linear over K-quant weights matches the reference backend in every regime: int8 activations
// (m < kInt8FusedMaxRows), exact f32 activations, and widened tiles (prefill), rows batch- and
// thread-invariant. Weights are random valid super-blocks (K-quants are read-only formats).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "kernels/backend_registry.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cpu/gemm_typed.h"
#include "kernels/dtype_convert.h"
#include "kernels/ref/reference_backend.h"
#include "nlohmann/json.hpp"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {

// Defined in typed_linear_test.cc.
void ExpectRowsBatchAndThreadInvariant(const WeightMatrix& w, const std::vector<float>& x, int64_t m);

namespace {

using testing::AbsDotSums;
using testing::ExpectClose;
using testing::RandomVector;

std::vector<unsigned char> FromHex(const std::string& hex) {
  std::vector<unsigned char> out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<unsigned char>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

// Byte offsets of the f16 scales in a super-block of `dtype`.
std::vector<size_t> ScaleOffsets(DType dtype) {
  return dtype == DType::kQ6_K ? std::vector<size_t>{208} : std::vector<size_t>{0, 2};
}

// rows × cols (cols % 256 == 0) of random valid super-blocks: random bytes, finite f16 scales.
std::vector<unsigned char> RandomBlocks(DType dtype, int64_t rows, int64_t cols, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<unsigned char> bytes(rows * DTypeRowBytes(dtype, cols));
  for (unsigned char& b : bytes) b = static_cast<unsigned char>(gen() & 0xFF);
  std::uniform_real_distribution<float> scale(-0.02f, 0.02f);
  for (size_t block = 0; block < bytes.size() / DTypeBlockBytes(dtype); ++block) {
    for (size_t off : ScaleOffsets(dtype)) {
      const uint16_t h = F32ToF16Bits(scale(gen));
      std::memcpy(bytes.data() + block * DTypeBlockBytes(dtype) + off, &h, 2);
    }
  }
  return bytes;
}

class KQuantTest : public ::testing::TestWithParam<DType> {};

TEST_P(KQuantTest, DecodingEqualsGgufPyBitForBit) {
  std::ifstream in(std::string(ATTNSERVE_GOLDEN_DIR) + "/quant_blocks/kquants.json");
  ASSERT_TRUE(in.good());
  const nlohmann::json golden = nlohmann::json::parse(in);
  const auto& g = golden.at(DTypeName(GetParam()));
  const std::vector<unsigned char> blocks = FromHex(g["blocks"].get<std::string>());
  const auto bits = g["values_bits"].get<std::vector<uint32_t>>();
  ASSERT_EQ(blocks.size() / DTypeBlockBytes(GetParam()) * kSuperBlock, bits.size());
  std::vector<float> ours(bits.size());
  ConvertToF32(GetParam(), blocks.data(), ours.data(), ours.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    uint32_t got;
    std::memcpy(&got, &ours[i], 4);
    ASSERT_EQ(got, bits[i]) << DTypeName(GetParam()) << " element " << i << " (group " << i / 32 << ")";
  }
}

TEST_P(KQuantTest, LinearMatchesReferenceInEveryRegime) {
  const DType dtype = GetParam();
  auto quantizing = MakeCpuBackend(2);
  auto exact = MakeBackend("cpu", {2, /*quantize_activations=*/false}).value();
  auto ref = MakeReferenceBackend();
  uint32_t seed = 7;
  for (int64_t m : {1, 2, 3, 5, 7, 16, 70}) {
    for (bool with_bias : {false, true}) {
      const int64_t n = 37, k = 512;
      const std::vector<float> x = RandomVector(m * k, seed++), bias = RandomVector(n, seed++);
      const std::vector<unsigned char> wq = RandomBlocks(dtype, n, k, seed++);
      const WeightMatrix w{dtype, wq.data(), n, k};
      const float* b = with_bias ? bias.data() : nullptr;
      std::vector<float> want(m * n), got(m * n, NAN), got_exact(m * n, NAN);
      ref->Linear(x.data(), w, b, want.data(), m);
      quantizing->Linear(x.data(), w, b, got.data(), m);
      exact->Linear(x.data(), w, b, got_exact.data(), m);
      std::vector<float> wide(n * k);
      ConvertToF32(dtype, wq.data(), wide.data(), wide.size());
      const std::vector<float> mag = AbsDotSums(x, wide, m, n, k);
      const std::string what = std::string(DTypeName(dtype)) + " m=" + std::to_string(m);
      ExpectClose(got_exact, want, 1e-6, 1e-5, &mag, what + " exact");
      if (m < cpu::kInt8FusedMaxRows) {
        double num = 0, den = 0;
        for (size_t i = 0; i < got.size(); ++i) {
          num += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
          den += double(want[i]) * want[i];
        }
        EXPECT_LE(num / den, 2e-4) << what << " int8 activations";
      } else {
        ExpectClose(got, want, 1e-6, 1e-5, &mag, what);
      }
    }
  }
}

TEST_P(KQuantTest, RowsAreBatchAndThreadInvariant) {
  const DType dtype = GetParam();
  const int64_t m = 5, n = 64, k = 256;
  const std::vector<float> x = RandomVector(m * k, 3);
  const std::vector<unsigned char> wq = RandomBlocks(dtype, n, k, 4);
  ExpectRowsBatchAndThreadInvariant({dtype, wq.data(), n, k}, x, m);
}

INSTANTIATE_TEST_SUITE_P(KQuants, KQuantTest, ::testing::Values(DType::kQ4_K, DType::kQ5_K, DType::kQ6_K),
                         [](const auto& info) { return std::string(DTypeName(info.param)); });

}  // namespace
}  // namespace attnserve

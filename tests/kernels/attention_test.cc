// CausalAttention: the CPU backend against the reference for prefill (num_q = num_kv), decode
// (num_q = 1, also long enough for split-KV) and chunked prefill (1 < num_q < num_kv), GQA ratios
// 1/2/3/4/8, head_dim 16..256 (and ones that are not a multiple of 8), and K/V rows wider than the
// heads (kv_stride > num_kv_heads * head_dim).
// Bound: outputs are convex combinations of V rows, so |out - ref| <= 2e-6 + 2e-5 * max|v| = 2e-5.
#include <cmath>
#include <sstream>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
#include "tests/kernels/kernel_test_util.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::RandomVector;

struct AttnCase {
  int64_t num_q, num_kv, num_heads, num_kv_heads, head_dim, kv_pad;
};

const AttnCase kCases[] = {
    {7, 7, 4, 4, 16, 0},      // prefill, MHA
    {1, 13, 4, 2, 32, 0},     // decode, GQA 2
    {5, 40, 8, 2, 64, 0},     // chunk, GQA 4
    {33, 33, 8, 8, 128, 0},   // prefill, head_dim 128
    {1, 1, 2, 1, 64, 0},      // first token
    {16, 100, 12, 3, 64, 8},  // chunk, GQA 4, padded rows
    {1, 300, 4, 1, 128, 24},  // long decode, GQA 4
    {64, 64, 6, 3, 16, 0},    // prefill, GQA 2
    {3, 9, 2, 2, 20, 3},      // head_dim not a multiple of 8
    {300, 300, 12, 4, 64, 0},  // prefill over several query and key tiles, GQA 3
    {1, 3000, 12, 4, 64, 0},   // long decode: split-KV
    {1, 2000, 8, 1, 36, 4},    // long decode, GQA 8, head_dim 36
    {20, 700, 16, 2, 256, 0},  // chunk, GQA 8, head_dim 256
    {77, 77, 5, 5, 13, 1},     // MHA, odd head_dim
};

std::vector<float> RunAttention(Backend& backend, const AttnCase& c, float logit_scale) {
  const int64_t stride = c.num_kv_heads * c.head_dim + c.kv_pad;
  const auto q = RandomVector(c.num_q * c.num_heads * c.head_dim, 11, -logit_scale, logit_scale);
  const auto k = RandomVector(c.num_kv * stride, 12);
  const auto v = RandomVector(c.num_kv * stride, 13);
  std::vector<float> out(q.size(), -7.0f);
  backend.CausalAttention(q.data(), k.data(), v.data(), out.data(), c.num_q, c.num_kv, c.num_heads,
                          c.num_kv_heads, c.head_dim, stride, 1.0f / std::sqrt(float(c.head_dim)));
  return out;
}

class AttentionTest : public ::testing::TestWithParam<AttnCase> {};

TEST_P(AttentionTest, CpuMatchesReference) {
  const AttnCase c = GetParam();
  auto ref = MakeReferenceBackend();
  for (float logit_scale : {1.0f, 8.0f}) {  // 8: peaked softmax
    const auto want = RunAttention(*ref, c, logit_scale);
    for (int threads : {1, 2}) {
      auto cpu = MakeCpuBackend(threads);
      ExpectClose(RunAttention(*cpu, c, logit_scale), want, 2e-5, 0.0, nullptr,
                  "threads=" + std::to_string(threads) + " scale=" + std::to_string(logit_scale));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, AttentionTest, ::testing::ValuesIn(kCases), [](const auto& info) {
  const AttnCase& c = info.param;
  std::ostringstream name;
  name << "q" << c.num_q << "_kv" << c.num_kv << "_h" << c.num_heads << "_kvh" << c.num_kv_heads
       << "_d" << c.head_dim;
  return name.str();
});

// A chunk of the last num_q queries must equal the last num_q rows of the full prefill.
TEST(AttentionChunkTest, ChunkEqualsTailOfPrefill) {
  const int64_t num_kv = 50, heads = 4, kv_heads = 2, dim = 32, stride = kv_heads * dim;
  const auto q = RandomVector(num_kv * heads * dim, 21);
  const auto k = RandomVector(num_kv * stride, 22), v = RandomVector(num_kv * stride, 23);
  auto cpu = MakeCpuBackend(2);
  std::vector<float> full(q.size());
  cpu->CausalAttention(q.data(), k.data(), v.data(), full.data(), num_kv, num_kv, heads, kv_heads,
                       dim, stride, 0.2f);
  for (int64_t num_q : {1, 7, 50}) {
    const int64_t off = (num_kv - num_q) * heads * dim;
    std::vector<float> chunk(num_q * heads * dim);
    cpu->CausalAttention(q.data() + off, k.data(), v.data(), chunk.data(), num_q, num_kv, heads,
                         kv_heads, dim, stride, 0.2f);
    const std::vector<float> tail(full.begin() + off, full.end());
    ExpectClose(chunk, tail, 0.0, 0.0, nullptr, "num_q=" + std::to_string(num_q));  // bit-identical
  }
}

}  // namespace
}  // namespace attnserve

// PagedAttention: keys/values scattered over a block pool in a shuffled order give the same
// output as contiguous CausalAttention (reference), on the CPU and the reference backend.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>

#include "kernel_test_util.h"
#include "kernels/backend.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::RandomVector;

struct PagedCase {
  int64_t num_q, num_kv, num_heads, num_kv_heads, head_dim, block_size;
};

class PagedAttentionTest : public ::testing::TestWithParam<PagedCase> {};

TEST_P(PagedAttentionTest, MatchesContiguousReference) {
  const PagedCase c = GetParam();
  const int64_t kv_dim = c.num_kv_heads * c.head_dim;
  const int64_t num_blocks_used = (c.num_kv + c.block_size - 1) / c.block_size;
  const int64_t pool_blocks = num_blocks_used * 2 + 3;  // other sequences' blocks in between
  std::vector<int32_t> table(pool_blocks);
  std::iota(table.begin(), table.end(), 0);
  std::shuffle(table.begin(), table.end(), std::mt19937(7));
  table.resize(num_blocks_used);

  std::vector<float> k = RandomVector(c.num_kv * kv_dim, 1), v = RandomVector(c.num_kv * kv_dim, 2);
  std::vector<float> k_pool = RandomVector(pool_blocks * c.block_size * kv_dim, 3, -9, 9);
  std::vector<float> v_pool = RandomVector(pool_blocks * c.block_size * kv_dim, 4, -9, 9);
  for (int64_t t = 0; t < c.num_kv; ++t) {
    const int64_t row = table[t / c.block_size] * c.block_size + t % c.block_size;
    std::copy_n(&k[t * kv_dim], kv_dim, &k_pool[row * kv_dim]);
    std::copy_n(&v[t * kv_dim], kv_dim, &v_pool[row * kv_dim]);
  }
  std::vector<float> q = RandomVector(c.num_q * c.num_heads * c.head_dim, 5, -2, 2);
  const float scale = 1.0f / std::sqrt(float(c.head_dim));
  std::vector<float> want(q.size());
  MakeReferenceBackend()->CausalAttention(q.data(), k.data(), v.data(), want.data(), c.num_q,
                                          c.num_kv, c.num_heads, c.num_kv_heads, c.head_dim,
                                          kv_dim, scale);
  const PagedKvView view{k_pool.data(), v_pool.data(), table.data(), c.block_size};
  const AttentionShape shape{c.num_q, c.num_kv, c.num_heads, c.num_kv_heads, c.head_dim, kv_dim, scale};
  // Outputs are convex combinations of V rows in [-1, 1]: an absolute bound fits.
  for (auto& backend : {MakeCpuBackend(2), MakeReferenceBackend()}) {
    std::vector<float> got(q.size());
    backend->PagedAttention(q.data(), view, shape, got.data());
    ExpectClose(got, want, 2e-5, 0.0, nullptr, std::string(backend->name()));
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, PagedAttentionTest,
                         ::testing::Values(PagedCase{1, 1, 4, 2, 16, 16},     // first decode
                                           PagedCase{1, 37, 4, 2, 32, 16},    // decode, partial block
                                           PagedCase{37, 37, 8, 2, 64, 16},   // prefill
                                           PagedCase{5, 70, 6, 3, 16, 8},     // chunk in the middle
                                           PagedCase{16, 48, 4, 4, 128, 16},  // block-aligned chunk
                                           PagedCase{3, 100, 4, 1, 20, 1}));  // block size 1

}  // namespace
}  // namespace attnserve

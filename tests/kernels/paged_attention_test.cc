// PagedAttention: keys/values scattered over a block pool in a shuffled order give the same
// output as contiguous CausalAttention (reference), on the CPU and the reference backend; every
// MaskKind on the CPU backend against the reference backend (masked_attention_cases.h), with
// unreachable blocks set to -1 and every key no query can see poisoned with NaN; the CPU result is
// bitwise the same for 1..4 threads (split-KV) and for a chunk vs the tail of a full prefill.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>

#include "kernel_test_util.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
#include "masked_attention_cases.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::MaskCase;
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
    backend->PagedAttention(q.data(), view, shape, AttentionMask{}, got.data());
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

// Sliding window: a dense masked softmax written out here (double precision) is the oracle.
struct WindowCase {
  int64_t num_q, num_kv, window;
};

class WindowedAttentionTest : public ::testing::TestWithParam<WindowCase> {};

TEST_P(WindowedAttentionTest, MatchesDenseMaskedSoftmax) {
  const WindowCase c = GetParam();
  const int64_t heads = 4, kv_heads = 2, dim = 16, kv_dim = kv_heads * dim, bs = 4;
  const int64_t blocks = (c.num_kv + bs - 1) / bs;
  std::vector<int32_t> table(blocks);
  for (int64_t b = 0; b < blocks; ++b) table[b] = static_cast<int32_t>(blocks - 1 - b);
  std::vector<float> k = RandomVector(blocks * bs * kv_dim, 11), v = RandomVector(blocks * bs * kv_dim, 12);
  std::vector<float> q = RandomVector(c.num_q * heads * dim, 13, -3, 3);
  const float scale = 0.25f;
  auto row = [&](const std::vector<float>& pool, int64_t t) {
    return &pool[(table[t / bs] * bs + t % bs) * kv_dim];
  };
  std::vector<float> want(q.size());
  for (int64_t i = 0; i < c.num_q; ++i) {
    const int64_t pos = c.num_kv - c.num_q + i;
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t col = (h / (heads / kv_heads)) * dim;
      std::vector<double> w(c.num_kv, 0.0);
      double mx = -1e300, z = 0;
      for (int64_t t = 0; t <= pos; ++t) {
        if (t <= pos - c.window) continue;  // masked: outside the window
        double s = 0;
        for (int64_t d = 0; d < dim; ++d) s += double(q[(i * heads + h) * dim + d]) * row(k, t)[col + d];
        w[t] = s * scale;
        mx = std::max(mx, w[t]);
      }
      for (int64_t t = std::max<int64_t>(0, pos - c.window + 1); t <= pos; ++t) z += (w[t] = std::exp(w[t] - mx));
      for (int64_t d = 0; d < dim; ++d) {
        double acc = 0;
        for (int64_t t = std::max<int64_t>(0, pos - c.window + 1); t <= pos; ++t) acc += w[t] * row(v, t)[col + d];
        want[(i * heads + h) * dim + d] = float(acc / z);
      }
    }
  }
  const PagedKvView view{k.data(), v.data(), table.data(), bs};
  AttentionShape shape{c.num_q, c.num_kv, heads, kv_heads, dim, kv_dim, scale};
  AttentionMask mask;
  mask.kind = MaskKind::kSlidingWindow;
  mask.window = c.window;
  for (auto& backend : {MakeCpuBackend(2), MakeReferenceBackend()}) {
    std::vector<float> got(q.size());
    backend->PagedAttention(q.data(), view, shape, mask, got.data());
    ExpectClose(got, want, 2e-5, 0.0, nullptr, std::string(backend->name()));
  }
}

INSTANTIATE_TEST_SUITE_P(Windows, WindowedAttentionTest,
                         ::testing::Values(WindowCase{40, 40, 8},    // prefill, 5x the window
                                           WindowCase{1, 40, 8},     // decode far past the window
                                           WindowCase{7, 33, 5},     // chunk straddling blocks
                                           WindowCase{3, 3, 8},      // window larger than the sequence
                                           WindowCase{16, 64, 1}));  // each query sees itself only

// ---- Every mask kind: CPU against the reference backend ----------------------------------------

class MaskedPagedAttentionTest : public ::testing::TestWithParam<MaskCase> {};

TEST_P(MaskedPagedAttentionTest, CpuMatchesReferenceAndReadsOnlyVisibleKeys) {
  testing::ExpectCpuMatchesReference(GetParam(), /*alibi=*/false);
}

TEST_P(MaskedPagedAttentionTest, ChunkEqualsTailOfPrefillBitwise) {
  testing::ExpectChunkEqualsTailOfPrefill(GetParam(), /*alibi=*/false);
}

INSTANTIATE_TEST_SUITE_P(Kinds, MaskedPagedAttentionTest, ::testing::ValuesIn(testing::MaskCases()),
                         testing::MaskCaseName);

}  // namespace
}  // namespace attnserve

// ALiBi (kernels/alibi.h, AttentionShape::alibi_slopes):
//   - slopes: AlibiSlopes / MptAlibiSlopes against transformers' build_alibi_tensor (BLOOM) and
//     build_mpt_alibi_tensor (tests/golden/alibi.json from tools/make_alibi_golden.py);
//   - semantics: HF's own BloomAttention and MptAttention modules (golden) for prefill, a chunk
//     and decode, on the CPU and the reference backend; a hand-computed 2-token case; the sign of
//     the bias on every CPU code path (tiled, split-KV decode, block list) against a closed form;
//     all-zero slopes give the same bits as no ALiBi;
//   - every MaskKind, GQA, prefill/chunk/decode (split-KV), head_dim 64/20/16: the CPU against the
//     reference and chunk = tail of prefill, with the BLOOM slopes (masked_attention_cases.h).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/alibi.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"
#include "masked_attention_cases.h"

namespace attnserve {
namespace {

using testing::ExpectClose;
using testing::MaskCase;

// Slopes vs transformers: torch's (vectorised) pow is not always correctly rounded, so a slope
// may be 1 ulp off where AlibiSlopes rounds pow(base, k) once (measured: 1 ulp, one slope each of
// num_heads 32 and 56; all others bitwise).
constexpr int64_t kSlopeMaxUlps = 1;
// MptAlibiSlopes(n, 8) vs AlibiSlopes(n): the same reals through different f32 roundings
// (measured <= 6.8e-7 relative, about 12 ulp, for n <= 128).
constexpr double kMptBloomRelTol = 2e-6;
// Attention outputs vs HF's BloomAttention / MptAttention (f32 torch, other summation order),
// absolute + relative to the largest |v| of the case (|v| up to 4.5; measured error <= 5e-7).
constexpr double kGoldenAbsTol = 1e-6, kGoldenRelTol = 1e-6;
// Hand-computed and closed-form oracles in double vs the f32 kernels (outputs in [-8, 8]).
constexpr double kClosedFormTol = 2e-6;

// ---- Golden data ----------------------------------------------------------------------------

const std::map<std::string, std::vector<float>>& Golden() {
  static const auto* golden = [] {
    const std::string here = __FILE__;  // .../tests/kernels/alibi_test.cc
    std::ifstream f(here.substr(0, here.rfind('/')) + "/../golden/alibi.json");
    auto* out = new std::map<std::string, std::vector<float>>;
    if (f) *out = nlohmann::json::parse(f).get<std::map<std::string, std::vector<float>>>();
    return out;
  }();
  return *golden;
}

const std::vector<float>& GoldenArray(const std::string& key) {
  static const std::vector<float> empty;
  const auto it = Golden().find(key);
  EXPECT_NE(it, Golden().end()) << "tests/golden/alibi.json lacks " << key
                                << " (run tools/make_alibi_golden.py)";
  return it == Golden().end() ? empty : it->second;
}

int64_t UlpDistance(float a, float b) {  // both positive and finite
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::abs(int64_t{ia} - int64_t{ib});
}

// ---- Slopes -----------------------------------------------------------------------------------

const int64_t kGoldenHeads[] = {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 40, 56, 64, 112};

TEST(AlibiSlopesTest, MatchTransformersBloom) {
  for (int64_t n : kGoldenHeads) {
    const std::vector<float>& want = GoldenArray("bloom_slopes_" + std::to_string(n));
    const std::vector<float> got = AlibiSlopes(n);
    ASSERT_EQ(got.size(), want.size()) << "num_heads=" << n;
    for (int64_t h = 0; h < n; ++h)
      EXPECT_LE(UlpDistance(got[h], want[h]), kSlopeMaxUlps)
          << "num_heads=" << n << " head " << h << ": " << got[h] << " vs " << want[h];
  }
}

TEST(AlibiSlopesTest, MatchTransformersMpt) {
  for (int64_t n : kGoldenHeads) {
    for (int bias_max : {8, 16}) {
      const std::string key = "mpt_slopes_" + std::to_string(n) + "_" + std::to_string(bias_max);
      const std::vector<float>& want = GoldenArray(key);
      const std::vector<float> got = MptAlibiSlopes(n, bias_max);
      ASSERT_EQ(got.size(), want.size()) << key;
      for (int64_t h = 0; h < n; ++h)
        EXPECT_LE(UlpDistance(got[h], want[h]), kSlopeMaxUlps) << key << " head " << h;
    }
  }
}

TEST(AlibiSlopesTest, ClosedForms) {
  EXPECT_TRUE(AlibiSlopes(0).empty());
  // Powers of 2: 2^(-8(h+1)/n); exact for n <= 8.
  EXPECT_EQ(AlibiSlopes(1), (std::vector<float>{0x1p-8f}));
  EXPECT_EQ(AlibiSlopes(8), (std::vector<float>{0x1p-1f, 0x1p-2f, 0x1p-3f, 0x1p-4f, 0x1p-5f,
                                                 0x1p-6f, 0x1p-7f, 0x1p-8f}));
  // 6 heads: the 4-head slopes, then the 8-head slopes the 4-head list lacks.
  EXPECT_EQ(AlibiSlopes(6), (std::vector<float>{0x1p-2f, 0x1p-4f, 0x1p-6f, 0x1p-8f, 0x1p-1f,
                                                 0x1p-3f}));
  for (int64_t n : {16, 32, 12, 112}) {
    const std::vector<float> s = AlibiSlopes(n);
    int64_t c = 1;
    while (c * 2 <= n) c *= 2;
    for (int64_t h = 0; h < n; ++h) {
      const double exponent = h < c ? -8.0 * (h + 1) / c : -4.0 * (2 * (h - c) + 1) / c;
      EXPECT_NEAR(s[h], std::exp2(exponent), 1e-6 * std::exp2(exponent)) << n << " " << h;
    }
  }
}

// MPT's alibi_bias_max = 8 (every MPT config) gives the BLOOM slopes for every head count.
TEST(AlibiSlopesTest, MptWithBiasMax8EqualsBloom) {
  for (int64_t n = 1; n <= 128; ++n) {
    const std::vector<float> bloom = AlibiSlopes(n), mpt = MptAlibiSlopes(n, 8.0);
    ASSERT_EQ(bloom.size(), mpt.size());
    for (int64_t h = 0; h < n; ++h)
      EXPECT_NEAR(mpt[h], bloom[h], kMptBloomRelTol * bloom[h]) << n << " " << h;
  }
  EXPECT_NE(MptAlibiSlopes(8, 16.0), AlibiSlopes(8));
}

// ---- Semantics against Hugging Face's attention modules ----------------------------------------

// HF's module on a causal prefill of `seq` tokens vs PagedAttention with the same slopes: the
// whole prefill, its last 5 queries as a chunk, and the last query as a decode step.
void ExpectMatchesHfModule(const std::string& model, const std::vector<float>& slopes) {
  const std::string pre = model + "_attn_";
  const std::vector<float>& dims = GoldenArray(pre + "shape");
  ASSERT_EQ(dims.size(), 3u);
  const int64_t heads = int64_t(dims[0]), head_dim = int64_t(dims[1]), seq = int64_t(dims[2]);
  const int64_t row = heads * head_dim;
  const std::vector<float>&q = GoldenArray(pre + "q"), &k = GoldenArray(pre + "k");
  const std::vector<float>&v = GoldenArray(pre + "v"), &want = GoldenArray(pre + "out");
  ASSERT_EQ(int64_t(q.size()), seq * row);
  ASSERT_EQ(k.size(), q.size());
  ASSERT_EQ(v.size(), q.size());
  ASSERT_EQ(want.size(), q.size());
  ASSERT_EQ(int64_t(slopes.size()), heads);
  double max_v = 0.0;
  for (float x : v) max_v = std::max(max_v, double(std::fabs(x)));
  const std::vector<float> magnitude(want.size(), float(max_v));
  const int32_t block0 = 0;
  const PagedKvView kv{k.data(), v.data(), &block0, seq};
  for (int64_t num_q : {seq, int64_t{5}, int64_t{1}}) {
    AttentionShape shape{num_q, seq, heads, heads, head_dim, row, GoldenArray(pre + "scale")[0]};
    shape.alibi_slopes = slopes.data();
    const std::vector<float> tail(want.end() - num_q * row, want.end());
    for (auto& backend : {MakeCpuBackend(1), MakeCpuBackend(2), MakeReferenceBackend()}) {
      std::vector<float> got(num_q * row);
      backend->PagedAttention(q.data() + (seq - num_q) * row, kv, shape, AttentionMask{},
                              got.data());
      ExpectClose(got, tail, kGoldenAbsTol, kGoldenRelTol, &magnitude,
                  model + " " + std::string(backend->name()) + " num_q=" + std::to_string(num_q));
    }
  }
}

TEST(AlibiAttentionTest, MatchesHfBloomAttention) {  // 6 heads: non-power-of-2 slopes
  ExpectMatchesHfModule("bloom", AlibiSlopes(6));
}

TEST(AlibiAttentionTest, MatchesHfMptAttention) {  // bias relative to max_seq_len, not to k
  ExpectMatchesHfModule("mpt", MptAlibiSlopes(4, 8.0));
}

// ---- Hand-computed case and the sign of the bias -----------------------------------------------

// The mask kinds of the three CPU code paths, each showing every causal key of the 2-token case.
std::vector<AttentionMask> AllKeysMasks(std::vector<int32_t>* selected) {
  AttentionMask causal, window, blocks;
  window.kind = MaskKind::kSlidingWindow;
  window.window = 1 << 20;
  blocks.kind = MaskKind::kBlockList;
  blocks.window = 1 << 20;
  blocks.select_block = 16;
  blocks.num_selected = 1;
  blocks.selected_blocks = selected->data();
  return {causal, window, blocks};
}

// Two tokens, two query heads sharing one KV head (GQA), head_dim 3, scale 1:
//   k0 = (1, 0, 0), k1 = 0;  v0 = (4, 0, -8), v1 = (0, 8, 4);  q at position 1 = (1, 0, 0)
//   logits at position 1: key 0  q·k0 − slope·1 = 1 − slope,  key 1  0
//   head 0, slope 1:        equal logits     -> out = (v0 + v1) / 2     = (2, 4, -2)
//   head 1, slope 1 + ln 3: weights 1/4, 3/4 -> out = (v0 + 3·v1) / 4   = (1, 6, 1)
// Position 0 sees key 0 only: out = v0 for both heads. A flipped sign gives other weights.
TEST(AlibiAttentionTest, HandComputedTwoTokens) {
  const std::vector<float> k = {1, 0, 0, 0, 0, 0}, v = {4, 0, -8, 0, 8, 4};
  const std::vector<float> q = {0.3f, -2, 5, 1, 1, 1,  // position 0, heads 0 and 1 (any q)
                                1, 0, 0, 1, 0, 0};     // position 1
  const std::vector<float> slopes = {1.0f, float(1.0 + std::log(3.0))};
  const std::vector<float> want = {4, 0, -8, 4, 0, -8, 2, 4, -2, 1, 6, 1};
  const int32_t block0 = 0;
  const PagedKvView kv{k.data(), v.data(), &block0, 2};
  std::vector<int32_t> selected(2 * 2, -1);
  for (const AttentionMask& mask : AllKeysMasks(&selected)) {
    for (auto& backend : {MakeCpuBackend(1), MakeReferenceBackend()}) {
      const std::string what = std::string(backend->name()) + " mask kind " +
                               std::to_string(int(mask.kind));
      AttentionShape shape{2, 2, 2, 1, 3, 3, 1.0f};
      shape.alibi_slopes = slopes.data();
      std::vector<float> got(12);
      backend->PagedAttention(q.data(), kv, shape, mask, got.data());
      ExpectClose(got, want, kClosedFormTol, 0.0, nullptr, what);
      shape.num_q = 1;  // decode of position 1
      AttentionMask decode_mask = mask;
      if (mask.kind == MaskKind::kBlockList) decode_mask.selected_blocks += 2;
      std::vector<float> decode(6);
      backend->PagedAttention(q.data() + 6, kv, shape, decode_mask, decode.data());
      ExpectClose(decode, std::vector<float>(want.begin() + 6, want.end()), kClosedFormTol, 0.0,
                  nullptr, what + " decode");
    }
  }
}

// q = 0, so the weights come from the bias alone: w_t ∝ exp(−slope·(p − t)), and with value
// rows v_t = t / num_kv the output is the closed form Σ w_t v_t / Σ w_t (near 1: recent keys
// dominate). A flipped sign weights the first keys instead (near 0). Covers the tiled prefill,
// split-KV decode (3000 keys, 4 threads) and the block-list path.
TEST(AlibiAttentionTest, BiasFavoursRecentKeysOnEveryPath) {
  const int64_t heads = 4, kv_heads = 2, dim = 8;
  const std::vector<float> slopes = {0.5f, 0.05f, 0.005f, 0.0005f};
  for (int64_t num_kv : {int64_t{300}, int64_t{3000}}) {
    std::vector<float> k(num_kv * kv_heads * dim, 0.5f), v(k.size());
    for (int64_t t = 0; t < num_kv; ++t)
      std::fill_n(&v[t * kv_heads * dim], kv_heads * dim, float(t) / float(num_kv));
    const int32_t block0 = 0;
    const PagedKvView kv{k.data(), v.data(), &block0, num_kv};
    std::vector<int32_t> selected(num_kv * heads, -1);
    for (const AttentionMask& mask : AllKeysMasks(&selected)) {
      const int64_t num_q = num_kv == 300 ? num_kv : 1;
      const std::vector<float> q(num_q * heads * dim, 0.0f);
      std::vector<float> want(q.size());
      for (int64_t i = 0; i < num_q; ++i) {
        const int64_t p = num_kv - num_q + i;
        for (int64_t h = 0; h < heads; ++h) {
          double num = 0.0, den = 0.0;
          for (int64_t t = 0; t <= p; ++t) {
            const double w = std::exp(-double(slopes[h]) * double(p - t));
            num += w * double(t) / double(num_kv);
            den += w;
          }
          std::fill_n(&want[(i * heads + h) * dim], dim, float(num / den));
        }
      }
      AttentionShape shape{num_q, num_kv, heads, kv_heads, dim, kv_heads * dim, 1.0f};
      shape.alibi_slopes = slopes.data();
      std::vector<float> got(q.size());
      MakeCpuBackend(4)->PagedAttention(q.data(), kv, shape, mask, got.data());
      ExpectClose(got, want, kClosedFormTol, 0.0, nullptr,
                  "num_kv=" + std::to_string(num_kv) + " kind " + std::to_string(int(mask.kind)));
    }
  }
}

// ---- Every mask kind --------------------------------------------------------------------------

class AlibiMaskedAttentionTest : public ::testing::TestWithParam<MaskCase> {};

TEST_P(AlibiMaskedAttentionTest, CpuMatchesReference) {
  testing::ExpectCpuMatchesReference(GetParam(), /*alibi=*/true);
}

TEST_P(AlibiMaskedAttentionTest, ChunkEqualsTailOfPrefillBitwise) {
  testing::ExpectChunkEqualsTailOfPrefill(GetParam(), /*alibi=*/true);
}

// slope·(k − p) with slope 0 adds exact zeros: the same bits as without ALiBi, CPU and reference.
TEST_P(AlibiMaskedAttentionTest, ZeroSlopesEqualNoAlibiBitwise) {
  const MaskCase c = GetParam();
  std::vector<int32_t> storage;
  const AttentionMask mask = testing::MakeMask(c, &storage);
  const testing::PagedInputs in = testing::MakeInputs(c, mask, /*poison=*/false);
  const std::vector<float> zeros(c.num_heads, 0.0f);
  for (auto& backend : {MakeCpuBackend(2), MakeReferenceBackend()}) {
    ExpectClose(testing::RunPaged(*backend, c, in, mask, zeros.data()),
                testing::RunPaged(*backend, c, in, mask, nullptr), 0.0, 0.0, nullptr,
                std::string(backend->name()));
  }
}

INSTANTIATE_TEST_SUITE_P(Kinds, AlibiMaskedAttentionTest,
                         ::testing::ValuesIn(testing::MaskCases()), testing::MaskCaseName);

}  // namespace
}  // namespace attnserve

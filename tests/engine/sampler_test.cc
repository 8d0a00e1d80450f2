// Sampler: greedy, seeded reproducibility, filters (top_k, top_p, min_p), penalties, logprobs.
#include "engine/output/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

namespace attnserve {
namespace {

std::vector<float> Logits() { return {1.0f, 3.0f, 2.0f, 0.5f, 2.9f}; }

TEST(SamplerTest, GreedyPicksArgmaxAndReportsLogprob) {
  SamplingParams p;
  p.temperature = 0;
  Sampler s(p, {});
  std::vector<float> l = Logits();
  SampleResult r = s.Sample(l, 2, true);
  EXPECT_EQ(r.token_id, 1);
  double z = 0;
  for (float v : Logits()) z += std::exp(v);
  EXPECT_NEAR(r.logprob, 3.0 - std::log(z), 1e-5);
  ASSERT_EQ(r.top.size(), 2u);
  EXPECT_EQ(r.top[0].token_id, 1);
  EXPECT_EQ(r.top[1].token_id, 4);
}

TEST(SamplerTest, SameSeedSameSequence) {
  SamplingParams p;
  p.seed = 42;
  Sampler a(p, {}), b(p, {});
  for (int i = 0; i < 50; ++i) {
    std::vector<float> la = Logits(), lb = Logits();
    EXPECT_EQ(a.Sample(la, 0, false).token_id, b.Sample(lb, 0, false).token_id);
  }
}

TEST(SamplerTest, TopKOneIsGreedy) {
  SamplingParams p;
  p.top_k = 1;
  p.seed = 1;
  Sampler s(p, {});
  for (int i = 0; i < 20; ++i) {
    std::vector<float> l = Logits();
    EXPECT_EQ(s.Sample(l, 0, false).token_id, 1);
  }
}

TEST(SamplerTest, TopPAndMinPRestrictTheSupport) {
  SamplingParams p;
  p.seed = 5;
  p.top_p = 0.5f;  // token 1 alone has p ~ 0.38; tokens {1,4} reach 0.5
  Sampler s(p, {});
  std::set<int32_t> seen;
  for (int i = 0; i < 300; ++i) {
    std::vector<float> l = Logits();
    seen.insert(s.Sample(l, 0, false).token_id);
  }
  EXPECT_EQ(seen, (std::set<int32_t>{1, 4}));

  SamplingParams q;
  q.seed = 5;
  q.min_p = 0.3f;  // keep p >= 0.3 * p_max: tokens 1, 4 and 2 (p2/p1 = e^-1 = 0.37); not 0, 3
  Sampler t(q, {});
  seen.clear();
  for (int i = 0; i < 300; ++i) {
    std::vector<float> l = Logits();
    seen.insert(t.Sample(l, 0, false).token_id);
  }
  EXPECT_EQ(seen, (std::set<int32_t>{1, 2, 4}));
}

TEST(SamplerTest, TemperatureSamplingFollowsTheDistribution) {
  SamplingParams p;
  p.seed = 11;
  Sampler s(p, {});
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = Logits();
    counts[s.Sample(l, 0, false).token_id]++;
  }
  double z = 0;
  for (float v : Logits()) z += std::exp(v);
  for (int t = 0; t < 5; ++t) {
    const double expected = std::exp(Logits()[t]) / z;
    EXPECT_NEAR(counts[t] / double(n), expected, 0.015) << "token " << t;
  }
}

TEST(SamplerTest, RepetitionPenaltyAppliesToPromptTokens) {
  SamplingParams p;
  p.temperature = 0;
  p.repetition_penalty = 2.0f;  // token 1: 3.0 -> 1.5, so token 4 (2.9) wins
  std::vector<int32_t> prompt = {1};
  Sampler s(p, prompt);
  std::vector<float> l = Logits();
  EXPECT_EQ(s.Sample(l, 0, false).token_id, 4);
}

TEST(SamplerTest, FrequencyAndPresencePenaltiesApplyToOutputTokens) {
  SamplingParams p;
  p.temperature = 0;
  p.presence_penalty = 0.2f;
  Sampler s(p, {});
  std::vector<float> l = Logits();
  EXPECT_EQ(s.Sample(l, 0, false).token_id, 1);  // first: no output yet
  l = Logits();
  EXPECT_EQ(s.Sample(l, 0, false).token_id, 4);  // 3.0 - 0.2 < 2.9
}

TEST(SamplerTest, LogitBiasShiftsTheChoiceAndMinus100Bans) {
  SamplingParams p;
  p.temperature = 0;
  p.logit_bias = {{3, 2.6f}};  // token 3: 0.5 -> 3.1 beats token 1 (3.0)
  Sampler s(p, {});
  std::vector<float> l = Logits();
  EXPECT_EQ(s.Sample(l, 0, false).token_id, 3);

  p.logit_bias = {{1, -100.0f}, {4, -100.0f}};  // bans the two best: token 2 (2.0) wins
  p.temperature = 1.0f;
  p.seed = 7;
  Sampler banned(p, {});
  for (int i = 0; i < 200; ++i) {
    l = Logits();
    const int32_t id = banned.Sample(l, 0, false).token_id;
    EXPECT_NE(id, 1);
    EXPECT_NE(id, 4);
  }
}

}  // namespace
}  // namespace attnserve

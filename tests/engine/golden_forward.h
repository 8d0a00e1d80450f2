// The shared parts of the golden tests (golden_model_test.cc, weight_dtype_golden_test.cc,
// gguf_golden_test.cc): a model's logits for a token sequence run as one all-logits chunk, the
// stated tolerance check against transformers' logits, and the greedy cases through an engine.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "engine/attention/attention_registry.h"
#include "engine/model/decoder_model.h"
#include "engine/runtime/engine.h"
#include "engine/config/model_config.h"
#include "engine_test_util.h"
#include "kernels/backend.h"

namespace attnserve::testing {

// Stated tolerance of every golden logit: |ours - hf| <= kGoldenAbsTol + kGoldenRelTol * |hf|.
inline constexpr float kGoldenAbsTol = 2e-4f;
inline constexpr float kGoldenRelTol = 1e-3f;

// logits f32[ids.size(), vocab] of `ids` from position 0 in one chunk, default attention; KV
// blocks of 4 tokens in a scrambled order (positions reach the pool through the table); Mamba
// layers start from zero states.
inline std::vector<float> GoldenForward(DecoderModel& model, const ModelConfig& config,
                                        const std::vector<int32_t>& ids, Backend& backend) {
  const int64_t block_size = 4, num_blocks = (static_cast<int64_t>(ids.size()) + 3) / 4;
  PagedKvPool kv(config.num_attention_layers(), 2 * num_blocks, block_size, config.kv_dim());
  std::vector<float> ssm_state(config.ssm_state_floats(), 0.0f);
  std::vector<int32_t> table;
  for (int64_t b = 0; b < num_blocks; ++b) table.push_back(static_cast<int32_t>(2 * num_blocks - 1 - 2 * b));
  auto plan = ResolveAttention({}, {&config, block_size, 0});
  EXPECT_TRUE(plan.ok()) << plan.status();
  if (!plan.ok()) return {};
  ForwardChunk chunk{ids.data(), 0, static_cast<int32_t>(ids.size()), table.data(), true, true,
                     plan->get(), nullptr, ssm_state.data()};
  std::vector<float> logits;
  EXPECT_EQ(model.Forward({&chunk, 1}, kv, backend, logits), static_cast<int64_t>(ids.size()));
  return logits;
}

// Every logit within the golden tolerance; returns the largest absolute error. `what` names the
// case in a failure (the first bad logit is reported with its token).
inline float ExpectGoldenLogits(const std::vector<float>& logits, const std::vector<float>& expected,
                                int64_t vocab_size, const std::string& what) {
  EXPECT_EQ(logits.size(), expected.size()) << what;
  float max_err = 0;
  for (size_t i = 0; i < expected.size() && i < logits.size(); ++i) {
    const float err = std::fabs(logits[i] - expected[i]);
    max_err = std::max(max_err, err);
    if (!(err <= kGoldenAbsTol + kGoldenRelTol * std::fabs(expected[i]))) {
      ADD_FAILURE() << what << " logit " << i << " (token " << i / vocab_size << "): " << logits[i]
                    << " vs " << expected[i];
      break;
    }
  }
  return max_err;
}

// Every greedy case of `golden` ({"prompt_ids", "generated_ids"}, with "min_top2_margin") run
// through the started `engine` one request at a time: the tokens must be transformers'.
inline void ExpectGoldenGreedy(Engine& engine, const nlohmann::json& golden, const std::string& what) {
  int n = 0;
  for (const auto& c : golden["greedy_cases"]) {
    auto expected = c["generated_ids"].get<std::vector<int32_t>>();
    auto sink = std::make_shared<CollectingSink>();
    ASSERT_TRUE(engine.SubmitGenerate(
        GreedySpec("g" + std::to_string(n++), c["prompt_ids"].get<std::vector<int32_t>>(), expected.size()),
        sink).ok());
    sink->Wait();
    EXPECT_EQ(sink->token_ids, expected) << what << " (min_top2_margin " << golden["min_top2_margin"] << ")";
  }
}

}  // namespace attnserve::testing

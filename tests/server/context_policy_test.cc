// Context policies through the real daemon (issue 7): a request may extend the 64-position test
// Llama with its own policy (here yarn, and dynamic NTK), the default refuses the same length
// naming the limit, /metrics counts requests per policy, GetModelInfo lists the kinds, and a bad
// --context_policy is a start-up error naming it.
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

const std::string kBase = std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/../context_models/llama_base";

v1::GenerateRequest LongPrompt(int n, uint32_t max_tokens) {
  v1::GenerateRequest request = GreedyRequest("", max_tokens);
  request.clear_prompt();
  for (int i = 0; i < n; ++i) request.add_prompt_token_ids(3 + (i * 53) % 480);
  return request;
}

TEST(ContextPolicyDaemonTest, PerRequestPoliciesExtendTheContextAndAreCounted) {
  std::string error;
  auto daemon = StartedDaemon::Start({"--model=" + kBase, "--max_model_len=1024"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  EXPECT_EQ(daemon->info.trained_context(), 64u);
  EXPECT_EQ(daemon->info.default_context_policy(), "model_default");
  EXPECT_GE(daemon->info.context_policies_size(), 8);

  // 100 + 20 tokens: beyond the model's 64 under its own positions...
  GenerateResult plain = Generate(*daemon->stub, LongPrompt(100, 20));
  EXPECT_EQ(plain.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(plain.status.error_message().find("max_position_embeddings 64"), std::string::npos)
      << plain.status.error_message();
  // ...allowed under yarn x4 (256) and dynamic NTK (--max_model_len).
  v1::GenerateRequest yarn = LongPrompt(100, 20);
  yarn.mutable_context_policy()->set_kind("yarn");
  yarn.mutable_context_policy()->set_factor(4);
  const GenerateResult y = Generate(*daemon->stub, yarn);
  ASSERT_TRUE(y.status.ok()) << y.status.error_message();
  EXPECT_EQ(y.AllTokenIds().size(), 20u);
  v1::GenerateRequest dynamic = LongPrompt(100, 20);
  dynamic.mutable_context_policy()->set_kind("dynamic_ntk");
  dynamic.mutable_context_policy()->set_factor(2);
  const GenerateResult d = Generate(*daemon->stub, dynamic);
  ASSERT_TRUE(d.status.ok()) << d.status.error_message();
  EXPECT_NE(d.AllTokenIds(), y.AllTokenIds());  // different positions, different continuation
  // yarn x4 stops at 256 tokens.
  v1::GenerateRequest too_long = LongPrompt(200, 100);
  *too_long.mutable_context_policy() = yarn.context_policy();
  const GenerateResult t = Generate(*daemon->stub, too_long);
  EXPECT_EQ(t.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(t.status.error_message().find("yarn: factor 4 x original_max_position_embeddings 64"), std::string::npos)
      << t.status.error_message();

  const std::string metrics = daemon->MetricsText();
  EXPECT_EQ(MetricValue(metrics, "attnserve_requests_by_context_policy_total", R"(policy="yarn")").value_or(-1), 1.0);
  EXPECT_EQ(MetricValue(metrics, "attnserve_requests_by_context_policy_total", R"(policy="dynamic_ntk")").value_or(-1),
            1.0);
}

TEST(ContextPolicyDaemonTest, BadDefaultPolicyIsAStartUpError) {
  const ExitResult result = RunToExit({"--model=" + kBase, "--host=127.0.0.1", "--port=" + std::to_string(FreePort()),
                                       "--metrics_port=0", "--context_policy=yarn:factor=0.5"},
                                      std::chrono::seconds(60));
  ASSERT_TRUE(result.exited) << result.stderr_text;
  EXPECT_NE(result.exit_code, 0);
  EXPECT_NE(result.stderr_text.find("--context_policy"), std::string::npos) << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("factor"), std::string::npos) << result.stderr_text;
}

}  // namespace
}  // namespace attnserve::testing

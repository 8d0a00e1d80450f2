// Attention backends through the real daemon: GetModelInfo lists the registry and each layer's
// backend and memory kind; Generate and Score take a per-request `attention`; --attention sets
// the deployment default.
#include <algorithm>
#include <cmath>
#include <map>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

class AttentionTest : public DaemonTest {};

TEST_F(AttentionTest, ModelInfoListsEveryBackendWithItsMemoryKindAndParameters) {
  const v1::ModelInfo& info = model_info();
  std::map<std::string, const v1::AttentionBackendInfo*> by_name;
  for (const auto& b : info.attention_backend_info()) by_name[b.name()] = &b;
  for (const char* name : {"full", "sliding_window", "sinks", "transformer_xl", "longformer", "bigbird",
                           "quest", "performer", "elu_linear"}) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_FALSE(by_name[name]->description().empty()) << name;
    EXPECT_FALSE(by_name[name]->complexity().empty()) << name;
  }
  EXPECT_EQ(by_name["sinks"]->memory_kind(), "windowed_kv");
  EXPECT_EQ(by_name["performer"]->memory_kind(), "recurrent_state");
  EXPECT_EQ(by_name["bigbird"]->family(), "sparse");
  EXPECT_EQ(by_name["quest"]->family(), "dynamic");
  EXPECT_NE(std::find(by_name["bigbird"]->parameters().begin(), by_name["bigbird"]->parameters().end(),
                      "random_blocks=3"),
            by_name["bigbird"]->parameters().end());
  EXPECT_EQ(info.attention_backends_size(), info.attention_backend_info_size());
  EXPECT_EQ(info.default_attention(), "");
  for (const auto& layer : info.layers()) {
    EXPECT_EQ(layer.attention_backend(), "full");
    EXPECT_EQ(layer.memory_kind(), "paged_kv");
  }
}

TEST_F(AttentionTest, GenerateAndScoreTakeAPerRequestBackend) {
  for (const char* backend : {"sliding_window", "bigbird", "performer", "quest"}) {
    v1::GenerateRequest request = GreedyRequest("The attention of this request is sparse", 8);
    request.mutable_attention()->set_backend(backend);
    if (std::string(backend) == "sliding_window") request.mutable_attention()->set_window(4);
    const GenerateResult result = Generate(stub(), request);
    ASSERT_TRUE(result.status.ok()) << backend << ": " << result.status.error_message();
    EXPECT_EQ(result.AllTokenIds().size(), 8u) << backend;
  }
  v1::ScoreRequest score;
  score.set_prompt("Scored with a window of two tokens");
  score.mutable_attention()->set_backend("sliding_window");
  score.mutable_attention()->set_window(2);
  v1::ScoreResponse windowed, full;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub().Score(&context, score, &windowed).ok());
  }
  score.clear_attention();
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub().Score(&context, score, &full).ok());
  }
  ASSERT_EQ(windowed.token_logprobs_size(), full.token_logprobs_size());
  double diff = 0;
  for (int i = 0; i < full.token_logprobs_size(); ++i)
    diff = std::max(diff, double(std::abs(full.token_logprobs(i) - windowed.token_logprobs(i))));
  EXPECT_GT(diff, 1e-3);  // the window changed the model's predictions
  const std::string metrics = MetricsText();
  EXPECT_GE(MetricValue(metrics, "attnserve_requests_by_attention_total", R"(attention="bigbird")").value_or(0), 1);
  EXPECT_GE(MetricValue(metrics, "attnserve_requests_by_attention_total", R"(attention="sliding_window")").value_or(0), 2);
  EXPECT_GE(MetricValue(metrics, "attnserve_requests_by_attention_total", R"(attention="default")").value_or(0), 1);

  score.mutable_attention()->set_backend("performer");
  score.mutable_attention()->set_window(2);  // not a performer parameter
  grpc::ClientContext context;
  v1::ScoreResponse refused;
  const grpc::Status status = stub().Score(&context, score, &refused);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("attention.window"), std::string::npos) << status.error_message();
  ExpectStillServing();
}

TEST(AttentionFlagTest, DeploymentDefaultAndPerLayerSchedule) {
  std::string error;
  auto daemon = StartedDaemon::Start({"--attention=sliding_window:window=8,full_every=2"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  EXPECT_EQ(daemon->info.default_attention(), "sliding_window:window=8,full_every=2");
  ASSERT_GE(daemon->info.layers_size(), 2);
  EXPECT_EQ(daemon->info.layers(0).attention_backend(), "sliding_window");
  EXPECT_EQ(daemon->info.layers(0).memory_kind(), "windowed_kv");
  EXPECT_EQ(daemon->info.layers(0).sliding_window(), 8u);
  EXPECT_EQ(daemon->info.layers(1).attention_backend(), "full");
  const GenerateResult result = Generate(*daemon->stub, GreedyRequest("Hello", 4));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.AllTokenIds().size(), 4u);
}

}  // namespace
}  // namespace attnserve::testing

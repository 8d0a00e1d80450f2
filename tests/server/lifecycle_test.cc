// Operations through the real daemon: health, reflection, /metrics, client deadlines and
// cancellation (the engine frees the request; the daemon stays healthy). SIGTERM: drain_test.cc.
#include <algorithm>
#include <functional>
#include <thread>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

class LifecycleTest : public DaemonTest {
 protected:
  // Polls /metrics until `predicate(value of name{label_filter})` holds (engine-side events are
  // recorded on the engine thread, possibly just after the client saw the end of its stream).
  static bool WaitForMetric(const std::string& name, const std::string& label_filter,
                            const std::function<bool(double)>& predicate, double* last_value) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < end) {
      const std::optional<double> value = MetricValue(MetricsText(), name, label_filter);
      if (value.has_value()) {
        *last_value = *value;
        if (predicate(*value)) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
};

TEST_F(LifecycleTest, HealthIsServing) {
  EXPECT_EQ(HealthStatus(channel(), ""), "SERVING");
  EXPECT_EQ(HealthStatus(channel(), "attnserve.v1.Inference"), "SERVING");
}

TEST_F(LifecycleTest, ReflectionListsTheServices) {
  const std::vector<std::string> services = ReflectionServices(channel());
  auto has = [&](const std::string& name) {
    return std::find(services.begin(), services.end(), name) != services.end();
  };
  EXPECT_TRUE(has("attnserve.v1.Inference"));
  EXPECT_TRUE(has("grpc.health.v1.Health"));
}

TEST_F(LifecycleTest, MetricsEndpointExposesTheNamedMetrics) {
  const std::string text = MetricsText();
  ASSERT_FALSE(text.empty()) << "no answer on /metrics port " << daemon().metrics_port();
  for (const char* name :
       {"attnserve_time_to_first_token_seconds", "attnserve_inter_token_latency_seconds",
        "attnserve_e2e_request_latency_seconds", "attnserve_request_queue_time_seconds",
        "attnserve_num_requests_running", "attnserve_num_requests_waiting",
        "attnserve_prompt_tokens_total", "attnserve_generation_tokens_total",
        "attnserve_requests_total", "attnserve_requests_rejected_total"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name;
  }
  for (const char* reason : {"stop", "length", "cancelled", "error"}) {
    EXPECT_TRUE(MetricValue(text, "attnserve_requests_total",
                            std::string("finish_reason=\"") + reason + "\"")
                    .has_value())
        << reason;
  }
}

TEST_F(LifecycleTest, RequestCountersIncreaseAfterARequest) {
  const std::string before_text = MetricsText();
  const double requests_before = MetricValue(before_text, "attnserve_requests_total").value_or(0);
  const double length_before =
      MetricValue(before_text, "attnserve_requests_total", R"(finish_reason="length")").value_or(0);
  const double generated_before =
      MetricValue(before_text, "attnserve_generation_tokens_total").value_or(0);
  const double prompt_before = MetricValue(before_text, "attnserve_prompt_tokens_total").value_or(0);

  const GenerateResult result = Generate(stub(), GreedyRequest("Count me", 5));
  ASSERT_TRUE(result.status.ok()) << result.status.error_message();

  double value = 0;
  EXPECT_TRUE(WaitForMetric("attnserve_requests_total", "",
                            [&](double v) { return v >= requests_before + 1; }, &value))
      << "attnserve_requests_total stayed at " << value;
  EXPECT_TRUE(WaitForMetric("attnserve_requests_total", R"(finish_reason="length")",
                            [&](double v) { return v >= length_before + 1; }, &value));
  EXPECT_TRUE(WaitForMetric("attnserve_generation_tokens_total", "",
                            [&](double v) { return v >= generated_before + 5; }, &value))
      << "attnserve_generation_tokens_total stayed at " << value;
  EXPECT_TRUE(WaitForMetric("attnserve_prompt_tokens_total", "",
                            [&](double v) { return v > prompt_before; }, &value));
  EXPECT_TRUE(WaitForMetric("attnserve_time_to_first_token_seconds_count", "",
                            [&](double v) { return v >= 1; }, &value));
  EXPECT_TRUE(WaitForMetric("attnserve_e2e_request_latency_seconds_count", "",
                            [&](double v) { return v >= 1; }, &value));
}

TEST_F(LifecycleTest, ClientDeadlineEndsTheRequest) {
  const GenerateResult result =
      Generate(stub(), LongRequest(), std::chrono::milliseconds(1));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << result.status.error_message();
  // The engine drops the sequence: nothing stays running.
  double running = -1;
  EXPECT_TRUE(WaitForMetric("attnserve_num_requests_running", "",
                            [](double v) { return v == 0; }, &running))
      << "attnserve_num_requests_running stayed at " << running;
  ExpectStillServing();
}

// An endless request on a daemon of its own (EndlessRequest: ~1M tokens of a tiny Mamba): the
// deadline, never the context, ends it, so it always ends mid-stream.
TEST(LifecycleEndlessTest, DeadlineMidStreamEndsTheRequest) {
  std::string error;
  std::unique_ptr<StartedDaemon> d = StartedDaemon::StartEndless({}, &error);
  ASSERT_NE(d, nullptr) << error;
  const GenerateResult result = Generate(*d->stub, EndlessRequest(), std::chrono::milliseconds(1000));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << result.status.error_message() << " after " << result.AllTokenIds().size() << " tokens";
  EXPECT_GT(result.AllTokenIds().size(), 0u) << "tokens streamed before the deadline";
  v1::ServerStatus s;
  EXPECT_TRUE(WaitForServerStatus(*d->stub, IsIdle, kSettleTimeout, &s)) << s.ShortDebugString();
  const GenerateResult after = Generate(*d->stub, GreedyRequest("still serving", 4));
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
}

TEST_F(LifecycleTest, ClientCancelMidStream) {
  const double cancelled_before =
      MetricValue(MetricsText(), "attnserve_requests_total", R"(finish_reason="cancelled")")
          .value_or(0);
  grpc::ClientContext context;
  auto reader = stub().Generate(&context, LongRequest());
  v1::GenerateResponse response;
  ASSERT_TRUE(reader->Read(&response)) << "no first message";
  EXPECT_GT(response.token_ids_size(), 0);
  context.TryCancel();
  while (reader->Read(&response)) {
  }
  const grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();

  double value = 0;
  EXPECT_TRUE(WaitForMetric("attnserve_requests_total", R"(finish_reason="cancelled")",
                            [&](double v) { return v >= cancelled_before + 1; }, &value))
      << "the engine did not report the cancelled request";
  EXPECT_TRUE(WaitForMetric("attnserve_num_requests_running", "",
                            [](double v) { return v == 0; }, &value));
  ExpectStillServing();
}

}  // namespace
}  // namespace attnserve::testing

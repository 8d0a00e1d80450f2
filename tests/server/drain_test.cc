// Graceful drain through the real daemon: on SIGTERM health turns NOT_SERVING at once, new Generate
// and Score calls get UNAVAILABLE, streams admitted or queued before the signal finish normally,
// and the process exits 0; --drain_timeout (or a second signal) cancels what is left.
#include <signal.h>

#include <chrono>
#include <thread>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

constexpr auto kExitTimeout = std::chrono::seconds(60);

// Polls health until it is NOT_SERVING (or `timeout` passes); returns the last answer.
std::string WaitForNotServing(const std::shared_ptr<grpc::Channel>& channel,
                              std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::string health;
  do {
    health = HealthStatus(channel, "attnserve.v1.Inference");
    if (health == "NOT_SERVING") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  } while (std::chrono::steady_clock::now() < end);
  return health;
}

TEST(DrainTest, SigtermFinishesAdmittedStreamsAndRefusesNewWork) {
  std::string error;
  std::unique_ptr<StartedDaemon> daemon = StartedDaemon::Start({"--max_num_seqs=1"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  // One stream running, one queued behind it, both before the signal.
  const v1::GenerateRequest long_request = LongRequest(daemon->info);
  OpenStream running(*daemon->stub, long_request);
  v1::GenerateResponse first;
  ASSERT_TRUE(running.reader->Read(&first));
  OpenStream queued(*daemon->stub, GreedyRequest("Queued before the drain", 8));
  v1::ServerStatus status;
  ASSERT_TRUE(WaitForServerStatus(
      *daemon->stub, [](const v1::ServerStatus& s) { return s.num_requests_waiting() == 1; },
      kSettleTimeout, &status))
      << status.ShortDebugString();

  daemon->process.Signal(SIGTERM);
  EXPECT_EQ(WaitForNotServing(daemon->channel, kSettleTimeout), "NOT_SERVING");
  ASSERT_TRUE(GetServerStatus(*daemon->stub, &status).ok());
  EXPECT_TRUE(status.draining()) << status.ShortDebugString();
  EXPECT_EQ(status.num_requests_running(), 1u) << "the long stream ended before the drain checks";

  const GenerateResult refused = Generate(*daemon->stub, GreedyRequest("Too late", 4));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.status.error_message();
  EXPECT_NE(refused.status.error_message().find("drain"), std::string::npos)
      << "the refusal does not say the server is draining: " << refused.status.error_message();
  {
    grpc::ClientContext context;
    v1::ScoreRequest score;
    score.set_prompt("Too late to score");
    v1::ScoreResponse response;
    const grpc::Status score_status = daemon->stub->Score(&context, score, &response);
    EXPECT_EQ(score_status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << score_status.error_message();
  }
  EXPECT_GE(MetricValue(daemon->MetricsText(), "attnserve_requests_rejected_total",
                        R"(reason="unavailable")")
                .value_or(0),
            2.0);

  const GenerateResult running_result = running.Finish();
  const GenerateResult queued_result = queued.Finish();
  EXPECT_TRUE(running_result.status.ok()) << running_result.status.error_message();
  EXPECT_EQ(running_result.AllTokenIds().size() + first.token_ids_size(),
            long_request.max_tokens());
  EXPECT_TRUE(queued_result.status.ok()) << queued_result.status.error_message();
  EXPECT_EQ(queued_result.AllTokenIds().size(), 8u);
  if (!queued_result.responses.empty()) {
    EXPECT_EQ(queued_result.Last().finish_reason(), v1::LENGTH);
  }

  const ExitResult exit = daemon->process.WaitForExit(kExitTimeout);
  EXPECT_TRUE(exit.exited) << exit.stderr_text;
  EXPECT_EQ(exit.exit_code, 0) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find("drained"), std::string::npos) << exit.stderr_text;
}

// Sends the stop signal(s) during an endless stream; the stream must end CANCELLED or UNAVAILABLE
// and the process exit 0 within `max_exit_s`.
void ExpectStreamCancelledAndCleanExit(const std::vector<std::string>& flags,
                                       const std::vector<int>& signals, double max_exit_s) {
  std::string error;
  // An endless request: it is still running when the drain ends, whatever the machine's speed.
  std::unique_ptr<StartedDaemon> daemon = StartedDaemon::StartEndless(flags, &error);
  ASSERT_NE(daemon, nullptr) << error;
  OpenStream running(*daemon->stub, EndlessRequest());
  v1::GenerateResponse first;
  ASSERT_TRUE(running.reader->Read(&first));

  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < signals.size(); ++i) {
    daemon->process.Signal(signals[i]);
    // After the first signal the daemon drains (NOT_SERVING); a later one may end it at once,
    // so only the first is checked over the wire.
    if (i == 0) {
      EXPECT_EQ(WaitForNotServing(daemon->channel, kSettleTimeout), "NOT_SERVING");
    }
  }
  const GenerateResult result = running.Finish();
  const ExitResult exit = daemon->process.WaitForExit(kExitTimeout);
  const double exit_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(exit.exited) << exit.stderr_text;
  EXPECT_EQ(exit.exit_code, 0) << exit.stderr_text;
  EXPECT_LT(exit_s, max_exit_s) << exit.stderr_text;
  EXPECT_TRUE(result.status.error_code() == grpc::StatusCode::CANCELLED ||
              result.status.error_code() == grpc::StatusCode::UNAVAILABLE)
      << result.status.error_code() << ": " << result.status.error_message();
  // Any last message that arrived says CANCELLED.
  if (!result.responses.empty() &&
      result.Last().finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
    EXPECT_EQ(result.Last().finish_reason(), v1::CANCELLED);
  }
}

TEST(DrainTest, DrainTimeoutCancelsWhatIsLeft) {
  ExpectStreamCancelledAndCleanExit({"--drain_timeout=0.3"}, {SIGTERM}, 15.0);
}

TEST(DrainTest, SecondSignalEndsTheDrain) {
  ExpectStreamCancelledAndCleanExit({"--drain_timeout=600"}, {SIGTERM, SIGINT}, 15.0);
}

}  // namespace
}  // namespace attnserve::testing

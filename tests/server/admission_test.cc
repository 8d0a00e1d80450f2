// Admission limits through the real daemon, with one running slot (--max_num_seqs=1) held by a
// long stream: --max_queue_time ends a request that waited too long with DEADLINE_EXCEEDED, and
// --max_waiting_requests refuses the request beyond it with RESOURCE_EXHAUSTED naming the limit.
#include <algorithm>
#include <cctype>
#include <chrono>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Starts a long stream and waits for its first message: it then holds the only running slot.
std::unique_ptr<OpenStream> OccupyTheSlot(StartedDaemon& daemon) {
  auto stream = std::make_unique<OpenStream>(*daemon.stub, LongRequest(daemon.info));
  v1::GenerateResponse first;
  EXPECT_TRUE(stream->reader->Read(&first)) << "the occupying stream sent nothing";
  return stream;
}

void CancelAndExpectIdle(StartedDaemon& daemon, std::vector<std::unique_ptr<OpenStream>>& streams) {
  for (auto& s : streams) s->context.TryCancel();
  for (auto& s : streams) s->Finish();
  v1::ServerStatus last;
  EXPECT_TRUE(WaitForServerStatus(*daemon.stub, IsIdle, kSettleTimeout, &last))
      << last.ShortDebugString();
}

TEST(AdmissionTest, MaxQueueTimeEndsAWaitingRequest) {
  std::string error;
  std::unique_ptr<StartedDaemon> daemon =
      StartedDaemon::Start({"--max_num_seqs=1", "--max_queue_time=0.2"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  std::vector<std::unique_ptr<OpenStream>> streams;
  streams.push_back(OccupyTheSlot(*daemon));

  const auto start = std::chrono::steady_clock::now();
  const GenerateResult queued = Generate(*daemon->stub, GreedyRequest("Waiting in line", 4));
  const double waited_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(queued.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << queued.status.error_message();
  EXPECT_NE(Lower(queued.status.error_message()).find("queue"), std::string::npos)
      << "the message does not name the queue time: " << queued.status.error_message();
  EXPECT_GE(waited_s, 0.15);
  EXPECT_LT(waited_s, 5.0);

  // The occupying stream is unaffected: still running (the status snapshot is taken after each
  // engine step, so it may trail the expiry briefly).
  v1::ServerStatus status;
  EXPECT_TRUE(WaitForServerStatus(
      *daemon->stub,
      [](const v1::ServerStatus& s) {
        return s.num_requests_running() == 1 && s.num_requests_waiting() == 0;
      },
      kSettleTimeout, &status))
      << status.ShortDebugString();
  CancelAndExpectIdle(*daemon, streams);
  EXPECT_EQ(daemon->process.Stop(std::chrono::seconds(20)).exit_code, 0);
}

TEST(AdmissionTest, FullQueueIsResourceExhaustedNamingTheLimit) {
  std::string error;
  std::unique_ptr<StartedDaemon> daemon =
      StartedDaemon::Start({"--max_num_seqs=1", "--max_waiting_requests=2"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  std::vector<std::unique_ptr<OpenStream>> streams;
  streams.push_back(OccupyTheSlot(*daemon));
  for (int i = 0; i < 2; ++i) {
    streams.push_back(
        std::make_unique<OpenStream>(*daemon->stub, GreedyRequest("Queued " + std::to_string(i), 4)));
  }
  v1::ServerStatus status;
  ASSERT_TRUE(WaitForServerStatus(
      *daemon->stub,
      [](const v1::ServerStatus& s) {
        return s.num_requests_running() == 1 && s.num_requests_waiting() == 2;
      },
      kSettleTimeout, &status))
      << status.ShortDebugString();

  const GenerateResult refused = Generate(*daemon->stub, GreedyRequest("One too many", 4));
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.status.error_message();
  EXPECT_NE(refused.status.error_message().find("max_waiting_requests"), std::string::npos)
      << refused.status.error_message();
  EXPECT_GE(MetricValue(daemon->MetricsText(), "attnserve_requests_rejected_total",
                        R"(reason="queue_full")")
                .value_or(0),
            1.0);

  CancelAndExpectIdle(*daemon, streams);
  EXPECT_EQ(daemon->process.Stop(std::chrono::seconds(20)).exit_code, 0);
}

}  // namespace
}  // namespace attnserve::testing

// Admission control end to end (engine/admission): with one sequence running at a time and a
// queue, a request whose deadline would pass in the queue — by the engine's measured admission
// rate — is refused at once with RESOURCE_EXHAUSTED, reason "queue_time" and retry-after
// trailers, while a request with a meetable deadline is queued; a full queue
// (--max_waiting_requests) is refused with retry-after too.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

// One Generate with a deadline `deadline` from now; returns the status and trailers.
grpc::Status GenerateWithDeadline(v1::Inference::Stub& stub, const v1::GenerateRequest& request,
                                  std::chrono::milliseconds deadline,
                                  std::multimap<std::string, std::string>* trailers) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + deadline);
  auto reader = stub.Generate(&context, request);
  v1::GenerateResponse response;
  while (reader->Read(&response)) {
  }
  grpc::Status status = reader->Finish();
  for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
    trailers->emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  }
  return status;
}

TEST(AdmissionControlTest, RefusesUnmeetableDeadlinesAndFullQueuesWithRetryAfter) {
  constexpr int kWaiting = 20;
  std::string error;
  std::unique_ptr<StartedDaemon> d =
      StartedDaemon::StartEndless({"--max_num_seqs=1", "--max_waiting_requests=" + std::to_string(kWaiting + 1)}, &error);
  ASSERT_NE(d, nullptr) << error;
  // Eight quick requests give the engine an admission rate (it needs at least 8 admissions).
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(Generate(*d->stub, GreedyRequest("Hello", 1)).status.ok());
  }
  const auto rate_measured_from = std::chrono::steady_clock::now();
  // One endless request holds the only seat; kWaiting more wait behind it.
  std::vector<std::unique_ptr<OpenStream>> streams;
  streams.push_back(std::make_unique<OpenStream>(*d->stub, EndlessRequest()));
  for (int i = 0; i < kWaiting; ++i) streams.push_back(std::make_unique<OpenStream>(*d->stub, GreedyRequest("Hi", 1)));
  v1::ServerStatus status;
  ASSERT_TRUE(WaitForServerStatus(
      *d->stub, [](const v1::ServerStatus& s) { return s.num_requests_running() == 1 && s.num_requests_waiting() == kWaiting; },
      kSettleTimeout, &status))
      << status.DebugString();
  // At least a second since the eight admissions: the rate is at most 7 per second, so a request
  // behind 20 others waits at least 21 / 7 = 3 s. Its 1.5 s deadline cannot be met.
  std::this_thread::sleep_until(rate_measured_from + std::chrono::seconds(1));
  std::multimap<std::string, std::string> trailers;
  grpc::Status refused =
      GenerateWithDeadline(*d->stub, GreedyRequest("Hi", 1), std::chrono::milliseconds(1500), &trailers);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("estimated queue time"), std::string::npos) << refused.error_message();
  ASSERT_EQ(trailers.count("retry-after"), 1u);
  EXPECT_GE(std::stoi(trailers.find("retry-after")->second), 3);
  EXPECT_EQ(trailers.count("grpc-retry-pushback-ms"), 1u);

  // A meetable deadline is queued: the 21st waiting request fills the queue.
  streams.push_back(std::make_unique<OpenStream>(*d->stub, GreedyRequest("Hi", 1)));
  ASSERT_TRUE(WaitForServerStatus(
      *d->stub, [](const v1::ServerStatus& s) { return s.num_requests_waiting() == kWaiting + 1; },
      kSettleTimeout, &status))
      << status.DebugString();
  trailers.clear();
  grpc::Status full =
      GenerateWithDeadline(*d->stub, GreedyRequest("Hi", 1), std::chrono::seconds(60), &trailers);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(full.error_message().find("too many waiting requests"), std::string::npos) << full.error_message();
  EXPECT_EQ(trailers.count("retry-after"), 1u);

  const std::string metrics = d->MetricsText();
  EXPECT_EQ(MetricValue(metrics, "attnserve_requests_rejected_total", R"(reason="queue_time")"), 1);
  EXPECT_EQ(MetricValue(metrics, "attnserve_requests_rejected_total", R"(reason="queue_full")"), 1);
  for (auto& s : streams) s->context.TryCancel();
  for (auto& s : streams) s->Finish();
  EXPECT_TRUE(WaitForServerStatus(*d->stub, IsIdle, kSettleTimeout, &status)) << status.DebugString();
}

}  // namespace
}  // namespace attnserve::testing

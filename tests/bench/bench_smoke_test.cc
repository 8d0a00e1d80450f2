// Smoke test of attnserve-bench end to end: starts the real daemon on the default model
// (tests/server's DaemonProcess), runs the real attnserve-bench binary on tiny workloads and checks
// the JSON it writes — counts, exact output tokens (ignore_eos), ordered latency percentiles,
// the concurrency cap, and failures counted by status code instead of aborting the run.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/bench/bench_runner.h"
#include "tests/server/daemon_process.h"

namespace attnserve::testing {
namespace {

// Runs attnserve-bench (killed after 120 s).
BenchRun RunSmokeBench(std::vector<std::string> args) { return RunBench(std::move(args), std::chrono::seconds(120)); }

void ExpectOrderedLatency(const nlohmann::json& j, const char* name) {
  SCOPED_TRACE(name);
  const nlohmann::json& s = j.at(name);
  EXPECT_GT(s.at("mean").get<double>(), 0);
  EXPECT_GT(s.at("p50").get<double>(), 0);
  EXPECT_LE(s.at("min").get<double>(), s.at("p50").get<double>());
  EXPECT_LE(s.at("p50").get<double>(), s.at("p90").get<double>());
  EXPECT_LE(s.at("p90").get<double>(), s.at("p99").get<double>());
  EXPECT_LE(s.at("p99").get<double>(), s.at("max").get<double>());
}

class BenchSmokeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(daemon_.Start(ATTNSERVE_TEST_MODEL_DIR, {}, std::chrono::seconds(120), &error))
        << error;
  }
  std::string AddrFlag() const { return "--addr=" + daemon_.address(); }

  DaemonProcess daemon_;
};

TEST_F(BenchSmokeTest, ClosedLoopCountsEveryTokenAndOrdersPercentiles) {
  const BenchRun run = RunSmokeBench({AddrFlag(), "--num_requests=8", "--concurrency=4",
                                 "--input_len=16", "--output_len=8", "--seed=1"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(run.json.is_object()) << run.output;
  const nlohmann::json& j = run.json;
  EXPECT_EQ(j["num_requests_ok"], 8) << run.output;
  EXPECT_EQ(j["num_requests_failed"], 0);
  EXPECT_EQ(j["total_output_tokens"], 64);
  EXPECT_EQ(j["total_input_tokens"], 8 * 16);
  EXPECT_EQ(j["finish_reasons"]["LENGTH"], 8);
  EXPECT_LE(j["max_in_flight"].get<int>(), 4);
  EXPECT_GT(j["duration_s"].get<double>(), 0);
  EXPECT_GT(j["output_throughput"].get<double>(), 0);
  EXPECT_GT(j["request_throughput"].get<double>(), 0);
  for (const char* name : {"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}) ExpectOrderedLatency(j, name);
  EXPECT_EQ(j["itl_ms"]["count"].get<int>() <= 8 * 7, true);
  EXPECT_EQ(j["config"]["mode"], "closed_loop");
  EXPECT_EQ(j["config"]["concurrency"], 4);
  EXPECT_NE(run.output.find("Output token throughput"), std::string::npos) << run.output;
}

// --backend=openai: the same workload over streaming /v1/completions (SSE) on --http_port.
TEST(BenchOpenAiBackend, StreamsOverHttpWithTheSameAccounting) {
  DaemonProcess daemon;
  const int http_port = FreePort();
  std::string error;
  ASSERT_TRUE(daemon.Start(ATTNSERVE_TEST_MODEL_DIR, {"--http_port=" + std::to_string(http_port)},
                           std::chrono::seconds(120), &error))
      << error;
  const BenchRun run = RunSmokeBench({"--addr=" + daemon.address(), "--backend=openai",
                                 "--http_addr=127.0.0.1:" + std::to_string(http_port),
                                 "--num_requests=8", "--concurrency=4", "--input_len=16",
                                 "--output_len=8", "--seed=1"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(run.json.is_object()) << run.output;
  const nlohmann::json& j = run.json;
  EXPECT_EQ(j["num_requests_ok"], 8) << run.output;
  EXPECT_EQ(j["total_output_tokens"], 64);
  EXPECT_EQ(j["total_input_tokens"], 8 * 16);
  EXPECT_EQ(j["finish_reasons"]["LENGTH"], 8);
  EXPECT_LE(j["itl_ms"]["count"].get<int>(), 8 * 7);  // tokens after each request's first event
  EXPECT_GE(j["itl_ms"]["count"].get<int>(), 8 * 4);
  for (const char* name : {"ttft_ms", "tpot_ms", "itl_ms", "e2e_ms"}) ExpectOrderedLatency(j, name);

  // Nothing listens there: every request fails as UNAVAILABLE and the run exits 1.
  const BenchRun refused = RunSmokeBench({"--addr=" + daemon.address(), "--backend=openai",
                                     "--http_addr=127.0.0.1:" + std::to_string(FreePort()),
                                     "--num_requests=2", "--concurrency=2", "--input_len=4",
                                     "--output_len=2"});
  EXPECT_EQ(refused.exit_code, 1) << refused.output;
  EXPECT_EQ(refused.json["failed_by_code"]["UNAVAILABLE"], 2) << refused.output;
  EXPECT_EQ(RunSmokeBench({"--addr=" + daemon.address(), "--backend=carrier_pigeon"}).exit_code, 2);
}

TEST_F(BenchSmokeTest, OpenLoopWithDistributionsPrefixesAndWarmup) {
  const BenchRun run = RunSmokeBench(
      {AddrFlag(), "--num_requests=6", "--request_rate=50", "--max_concurrency=3",
       "--input_len_dist=uniform:4:12", "--output_len_dist=uniform:2:6", "--shared_prefix_len=8",
       "--num_prefixes=2", "--warmup=2", "--temperature=0.8", "--seed=9", "--detailed"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  ASSERT_TRUE(run.json.is_object()) << run.output;
  const nlohmann::json& j = run.json;
  EXPECT_EQ(j["num_requests_ok"], 6) << run.output;
  EXPECT_LE(j["max_in_flight"].get<int>(), 3);
  ASSERT_EQ(j["requests"].size(), 6u);
  int output_tokens = 0;
  for (const nlohmann::json& row : j["requests"]) {
    EXPECT_EQ(row["status"], "OK");
    EXPECT_GE(row["prompt_tokens"].get<int>(), 8 + 4);
    EXPECT_LE(row["prompt_tokens"].get<int>(), 8 + 12);
    EXPECT_GE(row["output_tokens"].get<int>(), 2);
    EXPECT_LE(row["output_tokens"].get<int>(), 6);
    output_tokens += row["output_tokens"].get<int>();
  }
  EXPECT_EQ(j["total_output_tokens"], output_tokens);
  EXPECT_EQ(j["config"]["mode"], "open_loop");
  EXPECT_EQ(j["config"]["request_rate"], 50.0);
  ExpectOrderedLatency(j, "e2e_ms");
}

TEST_F(BenchSmokeTest, FailuresAreCountedByCode) {
  // A 1 ms deadline on 500-token generations: every request ends DEADLINE_EXCEEDED.
  const BenchRun run = RunSmokeBench({AddrFlag(), "--num_requests=4", "--concurrency=2", "--input_len=8",
                                 "--output_len=500", "--timeout_s=0.001"});
  EXPECT_EQ(run.exit_code, 1) << run.output;  // no request succeeded
  ASSERT_TRUE(run.json.is_object()) << run.output;
  EXPECT_EQ(run.json["num_requests_ok"], 0);
  EXPECT_EQ(run.json["num_requests_failed"], 4);
  EXPECT_EQ(run.json["failed_by_code"]["DEADLINE_EXCEEDED"], 4) << run.json.dump(2);
}

TEST(BenchFlags, ClosedAndOpenLoopExcludeEachOther) {
  const BenchRun run = RunSmokeBench({"--addr=127.0.0.1:1", "--concurrency=4", "--request_rate=3"});
  EXPECT_EQ(run.exit_code, 2) << run.output;
  EXPECT_NE(run.output.find("exclude each other"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace attnserve::testing

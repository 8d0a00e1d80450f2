// The CI soak (issue 19): two minutes of attnserve-bench --soak (64 streams, 20% cancellations,
// disconnects, short deadlines, oversized and malformed requests) against the real daemon on the
// default test model, asserting every check of its report; over-receive-limit messages on their
// own; the soak's ability to fail (the daemon killed under it), its flag errors, and its pure
// parts (seeded request mix, /metrics sums, RSS and pid probes).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "clients/bench/soak_probes.h"
#include "clients/bench/soak_requests.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/bench/bench_runner.h"
#include "tests/server/daemon_process.h"
#include "tests/server/test_client.h"

namespace attnserve::testing {
namespace {

// The KV pool of the CI daemon: 1024 blocks of 16 tokens (64 streams hold a few hundred). The
// block allocator hands out never-used blocks before reusing freed ones, so RSS grows until the
// whole pool has been touched once; a pool this size is touched within seconds, far inside the
// 24 s warm-up even on a slow machine (the 2 GiB default takes about two minutes).
constexpr char kCiKvCacheBytes[] = "--kv_cache_bytes=33554432";

TEST(SoakFaultTest, TwoMinutesOfFaultsLeaveNothingBehind) {
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(daemon.Start(ATTNSERVE_TEST_MODEL_DIR, {kCiKvCacheBytes}, std::chrono::seconds(120), &error))
      << error;
  // No over-receive-limit messages here: the daemon buffers each 64 MiB one whole and glibc keeps
  // the freed memory in per-thread arenas, so RSS ratchets up with every one (docs/reliability.md,
  // "Soak and fault test"); OverLimitMessagesAreRefusedAndServingGoesOn covers their refusal.
  const BenchRun run = RunBench(
      {"--soak", "--soak_duration_s=120", "--soak_streams=64", "--seed=1",
       "--soak_over_limit_share=0", "--addr=" + daemon.address(),
       "--soak_metrics_addr=127.0.0.1:" + std::to_string(daemon.metrics_port())},
      std::chrono::seconds(400));
  ASSERT_TRUE(run.json.is_object()) << run.output;
  const nlohmann::json& j = run.json;
  for (const auto& [check, passed] : j["checks"].items()) {
    EXPECT_TRUE(passed.get<bool>()) << "check " << check << " failed:\n" << run.output;
  }
  EXPECT_TRUE(j["passed"].get<bool>()) << run.output;
  EXPECT_EQ(run.exit_code, 0) << run.output;
  // Each check ran (the RSS one needs the pid found from the port; the server-side one /metrics).
  for (const char* check : {"no_unexpected_status", "every_request_ended_once", "ok_streams_complete",
                            "every_kind_exercised", "idle_after", "kv_blocks_all_free",
                            "state_slots_all_free", "health_serving", "daemon_alive",
                            "rss_within_tolerance", "engine_finished_what_it_admitted",
                            "grpc_calls_not_more_than_sent"}) {
    EXPECT_TRUE(j["checks"].contains(check)) << check;
  }
  for (const auto& [name, count] : j["violations"].items()) EXPECT_EQ(count, 0) << name;
  for (const char* ending : {"ok", "cancelled", "deadline_exceeded", "disconnected", "rejected"}) {
    EXPECT_GT(j["endings"][ending].get<int>(), 0) << ending << "\n" << run.output;
  }
  EXPECT_EQ(j["endings"]["other"], 0) << run.output;
  const nlohmann::json& after = j["server_status_after"];
  EXPECT_EQ(after["kv_blocks_free"], after["kv_blocks_total"]);
  EXPECT_EQ(after["num_requests_running"], 0);
  EXPECT_EQ(after["num_requests_waiting"], 0);
  EXPECT_LE(j["rss"]["max_deviation_after_warmup"].get<double>(), 0.05) << run.output;
  EXPECT_EQ(j["server_metrics"]["admitted"], j["server_metrics"]["finished"]);

  const ExitResult exit = daemon.Stop(std::chrono::seconds(30));
  EXPECT_TRUE(exit.exited && exit.exit_code == 0) << exit.stderr_text;
}

TEST(SoakFaultTest, FailsWhenTheDaemonDiesUnderIt) {
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(daemon.Start(ATTNSERVE_TEST_MODEL_DIR, {kCiKvCacheBytes}, std::chrono::seconds(120), &error))
      << error;
  const BenchRun run = RunBench(
      {"--soak", "--soak_duration_s=8", "--soak_streams=16", "--addr=" + daemon.address(),
       "--soak_rss_interval_s=1"},
      std::chrono::seconds(120), [&] {
        std::this_thread::sleep_for(std::chrono::seconds(4));
        daemon.Signal(SIGKILL);
      });
  EXPECT_EQ(run.exit_code, 1) << run.output;
  ASSERT_TRUE(run.json.is_object()) << run.output;
  EXPECT_FALSE(run.json["passed"].get<bool>());
  EXPECT_FALSE(run.json["checks"]["health_serving"].get<bool>());
  EXPECT_FALSE(run.json["checks"]["no_unexpected_status"].get<bool>());
  EXPECT_GT(run.json["kinds"]["normal"]["by_code"].value("UNAVAILABLE", 0), 0) << run.output;
}

TEST(SoakFaultTest, OverLimitMessagesAreRefusedAndServingGoesOn) {
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(daemon.Start(ATTNSERVE_TEST_MODEL_DIR, {}, std::chrono::seconds(120), &error)) << error;
  const std::shared_ptr<grpc::Channel> channel = MakeChannel(daemon.address());
  auto stub = v1::Inference::NewStub(channel);
  v1::GenerateRequest over_limit;
  over_limit.set_prompt(std::string((size_t{64} << 20) + 1, 'a'));  // the daemon's limit + 1
  over_limit.set_max_tokens(1);
  for (int i = 0; i < 3; ++i) {
    const GenerateResult refused = Generate(*stub, over_limit);
    EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
        << refused.status.error_message();
  }
  v1::GenerateRequest small;
  small.set_prompt("And it came to pass");
  small.set_max_tokens(4);
  small.set_ignore_eos(true);
  const GenerateResult ok = Generate(*stub, small);
  EXPECT_TRUE(ok.status.ok()) << ok.status.error_message();
  EXPECT_EQ(ok.AllTokenIds().size(), 4u);
  EXPECT_EQ(HealthStatus(channel, "attnserve.v1.Inference"), "SERVING");
}

TEST(SoakFaultTest, BadFlagsExitTwo) {
  EXPECT_EQ(RunBench({"--soak", "--soak_cancel_fraction=0.7", "--soak_malformed_fraction=0.5",
                      "--addr=127.0.0.1:1"},
                     std::chrono::seconds(30))
                .exit_code,
            2);
  EXPECT_EQ(RunBench({"--soak", "--soak_streams=0", "--addr=127.0.0.1:1"}, std::chrono::seconds(30))
                .exit_code,
            2);
}

bench::SoakModelLimits TinyLimits() {
  bench::SoakModelLimits limits;
  limits.vocab_size = 1024;
  limits.max_context = 2048;
  limits.token_id_low = 100;
  limits.token_id_high = 921;
  limits.max_message_bytes = 4096;  // keeps the over-limit message small here
  return limits;
}

TEST(SoakRequestMixTest, SeededDrawsRepeatAndFollowTheFractions) {
  const bench::SoakRequestFactory factory(bench::SoakMix{}, TinyLimits());
  std::mt19937_64 a(7), b(7);
  int counts[bench::kNumSoakKinds] = {};
  std::set<std::string> variants;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) {
    const bench::SoakRequest x = factory.Next(a, 3, i);
    const bench::SoakRequest y = factory.Next(b, 3, i);
    ASSERT_EQ(x.message().SerializeAsString(), y.message().SerializeAsString()) << i;
    ASSERT_EQ(x.raw_bytes, y.raw_bytes);
    ++counts[static_cast<int>(x.kind)];
    variants.insert(x.variant);
    ASSERT_FALSE(x.expected.empty());
    if (x.kind == bench::SoakKind::kNormal) {
      EXPECT_EQ(x.message().request_id(), "soak-3-" + std::to_string(i));
      EXPECT_LE(x.message().prompt_token_ids_size() + x.message().max_tokens(), 2048);
      EXPECT_TRUE(x.message().ignore_eos());
    }
    if (x.variant == "prompt_beyond_context") EXPECT_GT(x.message().prompt_token_ids_size(), 2048);
    if (x.variant == "message_over_receive_limit") EXPECT_GT(x.message().ByteSizeLong(), 4096u);
  }
  // 20000 draws: each fraction within 1.5 points (binomial sd <= 0.3 points).
  const double expected[bench::kNumSoakKinds] = {0.55, 0.2, 0.05, 0.1, 0.05, 0.05};
  for (int k = 0; k < bench::kNumSoakKinds; ++k) {
    EXPECT_NEAR(counts[k] / double(kDraws), expected[k], 0.015) << bench::SoakKindName(bench::SoakKind(k));
  }
  for (const std::string& v : bench::SoakRequestFactory::MalformedVariants()) {
    EXPECT_TRUE(variants.count(v)) << v;
  }
  for (const char* v : {"raw_invalid_wire_type", "raw_truncated_field", "raw_invalid_utf8_prompt",
                        "raw_noise_after_bad_tag", "message_over_receive_limit", "text_prompt_beyond_context",
                        "prompt_plus_max_tokens_beyond_context", "before_first_message", "mid_stream"}) {
    EXPECT_TRUE(variants.count(v)) << v;
  }
}

TEST(SoakProbesTest, SumsMetricsByExactNameAndLabels) {
  const std::string text =
      "# HELP x_total stuff\n"
      "x_total{protocol=\"grpc\",method=\"Generate\",code=\"OK\"} 5\n"
      "x_total{protocol=\"grpc\",method=\"Generate\",code=\"CANCELLED\"} 2\n"
      "x_total{protocol=\"grpc\",method=\"Score\",code=\"OK\"} 7\n"
      "x_total_bucket{le=\"1\"} 100\n"
      "y 1.5\n";
  EXPECT_EQ(bench::SumMetric(text, "x_total"), 14);
  EXPECT_EQ(bench::SumMetric(text, "x_total", R"(protocol="grpc",method="Generate")"), 7);
  EXPECT_EQ(bench::SumMetric(text, "x_total", R"(method="Score")"), 7);
  EXPECT_EQ(bench::SumMetric(text, "y"), 1.5);
  EXPECT_FALSE(bench::SumMetric(text, "x").has_value());
  EXPECT_FALSE(bench::SumMetric(text, "x_total", R"(method="Tokenize")").has_value());
  EXPECT_EQ(bench::PortOf("localhost:50051"), 50051);
  EXPECT_EQ(bench::PortOf("[::1]:7"), 7);
  EXPECT_EQ(bench::PortOf("nohost"), 0);
}

TEST(SoakProbesTest, FindsTheDaemonByItsPortAndReadsItsRss) {
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(daemon.Start(ATTNSERVE_TEST_MODEL_DIR, {}, std::chrono::seconds(120), &error)) << error;
  const std::optional<pid_t> pid = bench::ListeningPid(daemon.port());
  ASSERT_TRUE(pid.has_value());
  EXPECT_NE(*pid, getpid());
  EXPECT_EQ(bench::ListeningPid(daemon.metrics_port()), pid);  // the same process holds both
  const std::optional<uint64_t> rss = bench::ResidentBytes(*pid);
  ASSERT_TRUE(rss.has_value());
  EXPECT_GT(*rss, uint64_t{1} << 20);
  EXPECT_FALSE(bench::ResidentBytes(-5).has_value());
}

}  // namespace
}  // namespace attnserve::testing

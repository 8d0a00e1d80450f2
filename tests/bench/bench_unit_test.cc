// Unit tests of attnserve-bench's pure parts: length distributions, workload construction,
// percentiles, per-token latency accounting of coalesced messages, arrival offsets and reports.
#include <cmath>
#include <set>

#include "clients/bench/length_distribution.h"
#include "clients/bench/load_driver.h"
#include "clients/bench/report.h"
#include "clients/bench/stats.h"
#include "clients/bench/workload.h"
#include "gtest/gtest.h"

namespace attnserve::bench {
namespace {

TEST(LengthDistribution, ParsesAndSamplesInRange) {
  std::string error;
  auto uniform = LengthDistribution::Parse("uniform:64:256", &error);
  ASSERT_TRUE(uniform.has_value()) << error;
  auto normal = LengthDistribution::Parse("normal:128:32", &error);
  ASSERT_TRUE(normal.has_value()) << error;
  std::mt19937_64 rng(7);
  std::set<uint32_t> seen;
  double sum = 0;
  for (int i = 0; i < 2000; ++i) {
    const uint32_t u = uniform->Sample(rng);
    EXPECT_GE(u, 64u);
    EXPECT_LE(u, 256u);
    seen.insert(u);
    const uint32_t n = normal->Sample(rng);
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, normal->Max());
    sum += n;
  }
  EXPECT_GT(seen.size(), 100u);
  EXPECT_NEAR(sum / 2000, 128, 4);
  EXPECT_EQ(uniform->Max(), 256u);
  EXPECT_EQ(LengthDistribution::Fixed(9).Sample(rng), 9u);
  EXPECT_EQ(uniform->ToString(), "uniform:64:256");
}

TEST(LengthDistribution, RejectsMalformed) {
  std::string error;
  for (const char* bad : {"", "uniform:5", "uniform:9:3", "uniform:0:3", "normal:0:1",
                          "normal:5:-1", "zipf:1:2", "uniform:a:b", "uniform:1.5:3"}) {
    EXPECT_FALSE(LengthDistribution::Parse(bad, &error).has_value()) << bad;
    EXPECT_FALSE(error.empty());
  }
}

WorkloadOptions SmallWorkload() {
  WorkloadOptions options;
  options.input_len = LengthDistribution::Fixed(20);
  options.output_len = LengthDistribution::Fixed(5);
  options.seed = 3;
  SetDefaultTokenIdRange(1024, &options);
  options.excluded_ids = {0, 1};
  return options;
}

TEST(Workload, RandomIdsAreSeededInRangeAndIgnoreEos) {
  const WorkloadOptions options = SmallWorkload();
  EXPECT_EQ(options.token_id_low, 100);
  EXPECT_EQ(options.token_id_high, 918);
  const auto a = BuildWorkload(options, 10, "r-");
  const auto b = BuildWorkload(options, 10, "r-");
  ASSERT_EQ(a.size(), 10u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].request_id(), "r-" + std::to_string(i));
    EXPECT_EQ(a[i].prompt_token_ids_size(), 20);
    EXPECT_EQ(a[i].max_tokens(), 5u);
    EXPECT_TRUE(a[i].ignore_eos());
    EXPECT_EQ(a[i].sampling().temperature(), 0.0f);
    EXPECT_EQ(a[i].sampling().seed(), 3u + i);
    for (int32_t id : a[i].prompt_token_ids()) {
      EXPECT_GE(id, 100);
      EXPECT_LT(id, 918);
    }
    EXPECT_EQ(a[i].SerializeAsString(), b[i].SerializeAsString());  // reproducible
  }
  EXPECT_NE(a[0].SerializeAsString(), a[1].SerializeAsString());
}

TEST(Workload, SkipsExcludedIds) {
  WorkloadOptions options = SmallWorkload();
  options.token_id_low = 0;
  options.token_id_high = 4;
  options.excluded_ids = {0, 1, 3};
  for (const auto& request : BuildWorkload(options, 5, "x")) {
    for (int32_t id : request.prompt_token_ids()) EXPECT_EQ(id, 2);
  }
}

TEST(Workload, SharedPrefixesComeFromAFixedSet) {
  WorkloadOptions options = SmallWorkload();
  options.shared_prefix_len = 12;
  options.num_prefixes = 3;
  std::set<std::vector<int32_t>> prefixes;
  std::set<std::vector<int32_t>> suffixes;
  for (const auto& request : BuildWorkload(options, 40, "p")) {
    ASSERT_EQ(request.prompt_token_ids_size(), 12 + 20);
    const auto& ids = request.prompt_token_ids();
    prefixes.insert(std::vector<int32_t>(ids.begin(), ids.begin() + 12));
    suffixes.insert(std::vector<int32_t>(ids.begin() + 12, ids.end()));
  }
  EXPECT_EQ(prefixes.size(), 3u);
  EXPECT_EQ(suffixes.size(), 40u);
}

TEST(Workload, TextPromptsComeFromTheLines) {
  WorkloadOptions options = SmallWorkload();
  options.prompt_lines = {"alpha", "beta"};
  for (const auto& request : BuildWorkload(options, 10, "t")) {
    EXPECT_EQ(request.prompt_token_ids_size(), 0);
    EXPECT_TRUE(request.prompt() == "alpha" || request.prompt() == "beta");
  }
}

TEST(Stats, PercentilesInterpolateLikeNumpy) {
  const Summary s = Summarize({4, 1, 3, 2, 5});
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 5);
  EXPECT_DOUBLE_EQ(s.p50, 3);
  EXPECT_DOUBLE_EQ(s.p90, 4.6);
  EXPECT_DOUBLE_EQ(s.p99, 4.96);
  EXPECT_DOUBLE_EQ(Summarize({7}).p99, 7);
  EXPECT_EQ(Summarize({}).count, 0u);
}

v1::GenerateResponse Message(int num_tokens, bool last = false) {
  v1::GenerateResponse m;
  for (int i = 0; i < num_tokens; ++i) m.add_token_ids(100 + i);
  if (last) {
    m.set_finish_reason(v1::LENGTH);
    m.mutable_usage()->set_prompt_tokens(11);
  }
  return m;
}

TEST(RequestRecord, SpreadsCoalescedMessagesOverTheirTokens) {
  using std::chrono::milliseconds;
  RequestRecord r;
  const Clock::time_point t0 = Clock::now();
  r.scheduled = t0;
  r.sent = t0 + milliseconds(5);
  r.OnMessage(t0 + milliseconds(25), Message(2));  // TTFT 20 ms; 2nd token covered by TTFT
  r.OnMessage(t0 + milliseconds(35), Message(1));  // 10 ms
  r.OnMessage(t0 + milliseconds(65), Message(3));  // 30 ms over 3 tokens
  r.OnMessage(t0 + milliseconds(66), Message(0, /*last=*/true));
  r.done = t0 + milliseconds(66);
  r.completed = true;
  EXPECT_EQ(r.output_tokens, 6u);
  EXPECT_EQ(r.num_messages, 4u);
  EXPECT_EQ(r.prompt_tokens, 11u);
  EXPECT_EQ(r.finish_reason, v1::LENGTH);
  EXPECT_NEAR(r.ttft_s(), 0.020, 1e-9);
  EXPECT_NEAR(r.e2e_s(), 0.061, 1e-9);
  EXPECT_NEAR(r.client_wait_s(), 0.005, 1e-9);
  EXPECT_NEAR(r.tpot_s(), 0.040 / 5, 1e-9);
  ASSERT_EQ(r.itl_s.size(), 4u);
  EXPECT_NEAR(r.itl_s[0], 0.010, 1e-9);
  for (int i = 1; i < 4; ++i) EXPECT_NEAR(r.itl_s[i], 0.010, 1e-9);

  RunResult run;
  run.records = {r, RequestRecord{}};
  run.records[1].completed = true;
  run.records[1].status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "full");
  run.start = t0;
  run.end = t0 + milliseconds(66);
  std::vector<v1::GenerateRequest> requests(2);
  const BenchReport report = MakeReport(run, requests);
  EXPECT_EQ(report.num_ok, 1u);
  EXPECT_EQ(report.num_failed, 1u);
  EXPECT_EQ(report.failed_by_code.at("RESOURCE_EXHAUSTED"), 1u);
  EXPECT_EQ(report.total_output_tokens, 6u);
  EXPECT_EQ(report.total_input_tokens, 11u);
  EXPECT_NEAR(report.output_throughput, 6 / 0.066, 1e-6);
  EXPECT_EQ(report.itl_ms.count, 4u);
  EXPECT_NEAR(report.ttft_ms.mean, 20, 1e-6);
  EXPECT_EQ(report.max_in_flight, 1u);
  const nlohmann::json j = ToJson(report, {{"seed", 1}});
  EXPECT_EQ(j["config"]["seed"], 1);
  EXPECT_EQ(j["failed_by_code"]["RESOURCE_EXHAUSTED"], 1);
  EXPECT_NE(FormatTable(report, true).find("RESOURCE_EXHAUSTED"), std::string::npos);
}

TEST(LoadDriver, PoissonArrivalsAreSeededWithTheRequestedRate) {
  LoadOptions options;
  EXPECT_EQ(ArrivalOffsets(3, options), std::vector<double>(3, 0.0));  // inf: all at once
  options.request_rate = 10;
  options.seed = 5;
  const auto offsets = ArrivalOffsets(5000, options);
  EXPECT_EQ(offsets, ArrivalOffsets(5000, options));
  EXPECT_EQ(offsets[0], 0.0);
  for (size_t i = 1; i < offsets.size(); ++i) EXPECT_GE(offsets[i], offsets[i - 1]);
  EXPECT_NEAR(offsets.back() / (offsets.size() - 1), 0.1, 0.005);
}

}  // namespace
}  // namespace attnserve::bench

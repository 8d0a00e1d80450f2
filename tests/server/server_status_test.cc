// GetServerStatus and the KV-cache / prefix-cache metrics through the real daemon: fields are sane
// idle and under load; a cancelled stream or an expired client deadline returns the engine to zero
// (nothing running or waiting, no KV block in use); a repeated long prompt prefix hits the prefix
// cache for at least its full blocks and gives the same greedy tokens as a daemon without caching.
#include <chrono>
#include <random>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

uint64_t BlocksUsed(const v1::ServerStatus& s) { return s.kv_blocks_total() - s.kv_blocks_free(); }

std::string Describe(const v1::ServerStatus& s) { return s.ShortDebugString(); }

class ServerStatusTest : public DaemonTest {
 protected:
  // Waits until nothing runs, waits or holds KV blocks; fails the test when that does not happen.
  static void ExpectReturnsToIdle(const char* after) {
    v1::ServerStatus last;
    EXPECT_TRUE(WaitForServerStatus(stub(), IsIdle, kSettleTimeout, &last))
        << "not idle " << kSettleTimeout.count() << " ms after " << after << ": "
        << Describe(last);
    const std::string metrics = MetricsText();
    EXPECT_EQ(MetricValue(metrics, "attnserve_num_requests_running").value_or(-1), 0.0) << after;
    EXPECT_EQ(MetricValue(metrics, "attnserve_kv_cache_blocks_used").value_or(-1), 0.0) << after;
    EXPECT_EQ(MetricValue(metrics, "attnserve_kv_cache_usage_ratio").value_or(-1), 0.0) << after;
  }
};

// Before any request too: a router polls a freshly started replica.
TEST_F(ServerStatusTest, FieldsAreSaneWhenIdle) {
  v1::ServerStatus s;
  ASSERT_TRUE(WaitForServerStatus(stub(), IsIdle, kSettleTimeout, &s)) << Describe(s);
  EXPECT_EQ(s.block_size(), 16u);  // --block_size default
  EXPECT_GT(s.kv_blocks_total(), 0u);
  EXPECT_EQ(s.kv_blocks_free(), s.kv_blocks_total());
  EXPECT_LE(s.kv_blocks_cached(), s.kv_blocks_total());
  EXPECT_EQ(s.kv_cache_usage_ratio(), 0.0);
  EXPECT_EQ(s.kv_tokens_stored(), 0u);
  EXPECT_LE(s.prefix_cache_hits_total(), s.prefix_cache_queries_total());
  EXPECT_GE(s.generation_tokens_per_second(), 0.0);
  EXPECT_GE(s.prompt_tokens_per_second(), 0.0);
  EXPECT_FALSE(s.draining());
  // The pool fits in --kv_cache_bytes (2 GiB default) at f32 K and V for every layer.
  const uint64_t bytes_per_block = uint64_t{2} * model_info().num_layers() *
                                   model_info().num_key_value_heads() * model_info().head_dim() *
                                   sizeof(float) * s.block_size();
  EXPECT_LE(s.kv_blocks_total() * bytes_per_block, uint64_t{2} << 30) << Describe(s);
  EXPECT_GE(s.kv_blocks_total() * bytes_per_block, uint64_t{1} << 30) << Describe(s);
}

TEST_F(ServerStatusTest, StreamUsesBlocksAndCancelReturnsToIdle) {
  OpenStream stream(stub(), LongRequest());
  v1::GenerateResponse first;
  ASSERT_TRUE(stream.reader->Read(&first)) << "no first message";

  // The snapshot is published after each engine step; the first one with computed tokens follows
  // the first message closely.
  v1::ServerStatus s;
  EXPECT_TRUE(WaitForServerStatus(
      stub(), [](const v1::ServerStatus& s) { return s.kv_tokens_stored() > 0; }, kSettleTimeout,
      &s))
      << Describe(s);
  EXPECT_EQ(s.num_requests_running(), 1u) << Describe(s);
  EXPECT_EQ(s.num_requests_waiting(), 0u) << Describe(s);
  EXPECT_GT(BlocksUsed(s), 0u) << Describe(s);
  EXPECT_GT(s.kv_cache_usage_ratio(), 0.0) << Describe(s);
  EXPECT_LE(s.kv_cache_usage_ratio(), 1.0) << Describe(s);
  EXPECT_LE(s.kv_tokens_stored(), BlocksUsed(s) * s.block_size()) << Describe(s);

  stream.context.TryCancel();
  const GenerateResult result = stream.Finish();
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::CANCELLED)
      << result.status.error_message();
  ExpectReturnsToIdle("a client cancel");
  ExpectStillServing();
}

// On an endless request (daemon of its own: StartEndless) the deadline always fires mid-stream.
TEST(ServerStatusEndlessTest, ClientDeadlineReturnsToIdle) {
  std::string error;
  std::unique_ptr<StartedDaemon> d = StartedDaemon::StartEndless({}, &error);
  ASSERT_NE(d, nullptr) << error;
  const GenerateResult result = Generate(*d->stub, EndlessRequest(), std::chrono::milliseconds(300));
  EXPECT_EQ(result.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << result.status.error_message();
  v1::ServerStatus last;
  EXPECT_TRUE(WaitForServerStatus(*d->stub, IsIdle, kSettleTimeout, &last))
      << "not idle after a client deadline: " << Describe(last);
  const std::string metrics = d->MetricsText();
  EXPECT_EQ(MetricValue(metrics, "attnserve_num_requests_running").value_or(-1), 0.0);
  EXPECT_EQ(MetricValue(metrics, "attnserve_kv_cache_blocks_used").value_or(-1), 0.0);
  const GenerateResult after = Generate(*d->stub, GreedyRequest("still serving", 4));
  EXPECT_TRUE(after.status.ok()) << after.status.error_message();
}

// A prompt of `n` token ids from a per-run random stream (so no earlier test cached it).
std::vector<int32_t> RandomPrompt(size_t n, uint32_t vocab_size) {
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int32_t> id(3, static_cast<int32_t>(vocab_size) - 1);
  std::vector<int32_t> ids(n);
  for (int32_t& t : ids) t = id(rng);
  return ids;
}

v1::GenerateRequest TokenRequest(const std::vector<int32_t>& prompt, uint32_t max_tokens) {
  v1::GenerateRequest request = GreedyRequest("", max_tokens);
  request.mutable_prompt_token_ids()->Add(prompt.begin(), prompt.end());
  return request;
}

TEST_F(ServerStatusTest, SharedPrefixHitsThePrefixCache) {
  constexpr size_t kPrefixTokens = 100;
  const std::vector<int32_t> prefix = RandomPrompt(kPrefixTokens, model_info().vocab_size());
  std::vector<int32_t> first = prefix, second = prefix;
  first.push_back(7);
  second.push_back(9);

  const GenerateResult first_result = Generate(stub(), TokenRequest(first, 4));
  ASSERT_TRUE(first_result.status.ok()) << first_result.status.error_message();
  v1::ServerStatus before;
  ASSERT_TRUE(WaitForServerStatus(stub(), IsIdle, kSettleTimeout, &before)) << Describe(before);
  const double metric_hits_before =
      MetricValue(MetricsText(), "attnserve_prefix_cache_hits_total").value_or(-1);
  EXPECT_GE(before.kv_blocks_cached(), kPrefixTokens / before.block_size()) << Describe(before);

  const GenerateResult second_result = Generate(stub(), TokenRequest(second, 8));
  ASSERT_TRUE(second_result.status.ok()) << second_result.status.error_message();
  // Every full block of the shared prefix is reused.
  const uint64_t shared_full_block_tokens = kPrefixTokens / before.block_size() * before.block_size();
  v1::ServerStatus after;
  EXPECT_TRUE(WaitForServerStatus(
      stub(),
      [&](const v1::ServerStatus& s) {
        return s.prefix_cache_hits_total() >= before.prefix_cache_hits_total() +
                                                  shared_full_block_tokens;
      },
      kSettleTimeout, &after))
      << "before " << Describe(before) << "\nafter " << Describe(after);
  EXPECT_GE(after.prefix_cache_queries_total(),
            before.prefix_cache_queries_total() + shared_full_block_tokens)
      << Describe(after);
  const double metric_hits_after =
      MetricValue(MetricsText(), "attnserve_prefix_cache_hits_total").value_or(-1);
  EXPECT_GE(metric_hits_after, metric_hits_before + shared_full_block_tokens);

  // The cached prefix gives the tokens a daemon without prefix caching computes from scratch.
  std::string error;
  std::unique_ptr<StartedDaemon> uncached =
      StartedDaemon::Start({"--enable_prefix_caching=false"}, &error);
  ASSERT_NE(uncached, nullptr) << error;
  ASSERT_TRUE(Generate(*uncached->stub, TokenRequest(first, 4)).status.ok());
  const GenerateResult reference = Generate(*uncached->stub, TokenRequest(second, 8));
  ASSERT_TRUE(reference.status.ok()) << reference.status.error_message();
  EXPECT_EQ(second_result.AllTokenIds(), reference.AllTokenIds());
  v1::ServerStatus off;
  ASSERT_TRUE(GetServerStatus(*uncached->stub, &off).ok());
  EXPECT_EQ(off.prefix_cache_hits_total(), 0u) << Describe(off);
  EXPECT_EQ(uncached->process.Stop(std::chrono::seconds(20)).exit_code, 0);
}

TEST_F(ServerStatusTest, MetricsExposeTheKvCacheNames) {
  ASSERT_TRUE(Generate(stub(), GreedyRequest("Fill a block or two", 4)).status.ok());
  v1::ServerStatus s;
  ASSERT_TRUE(WaitForServerStatus(stub(), IsIdle, kSettleTimeout, &s)) << Describe(s);
  const std::string text = MetricsText();
  for (const char* name :
       {"attnserve_num_preemptions_total", "attnserve_prefix_cache_queries_total",
        "attnserve_prefix_cache_hits_total", "attnserve_kv_cache_usage_ratio",
        "attnserve_kv_cache_blocks_total", "attnserve_kv_cache_blocks_used"}) {
    EXPECT_TRUE(MetricValue(text, name).has_value()) << name << " missing from /metrics";
  }
  EXPECT_EQ(MetricValue(text, "attnserve_kv_cache_blocks_total").value_or(-1),
            static_cast<double>(s.kv_blocks_total()));
  EXPECT_EQ(MetricValue(text, "attnserve_num_preemptions_total").value_or(-1),
            static_cast<double>(s.num_preemptions_total()));
  EXPECT_EQ(MetricValue(text, "attnserve_prefix_cache_hits_total").value_or(-1),
            static_cast<double>(s.prefix_cache_hits_total()));
  EXPECT_GT(MetricValue(text, "attnserve_prefix_cache_queries_total").value_or(0), 0.0);
}

}  // namespace
}  // namespace attnserve::testing

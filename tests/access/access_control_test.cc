// Unit tests of the access gate (server/access): the --api_keys_file parser and its errors, key
// lookup, the per-key token bucket and concurrency quota, request caps, and the refusal payloads
// and queue-time estimate of admission control (engine/admission).
#include <chrono>
#include <string>

#include "engine/admission/queue_time_estimator.h"
#include "engine/admission/refusal.h"
#include "gtest/gtest.h"
#include "server/access/access_control.h"
#include "server/access/api_keys.h"
#include "server/access/key_quotas.h"

namespace attnserve::server {
namespace {

using Clock = std::chrono::steady_clock;

absl::StatusOr<ApiKeys> Parse(const std::string& json) { return ApiKeys::FromJson(json, "keys.json"); }

TEST(ApiKeysTest, ParsesNamesLimitsAndBothKeyForms) {
  // sha256("key-of-team-b") computed by the same DigestOf the server uses, as hex.
  const KeyDigest b = DigestOf("key-of-team-b");
  std::string hex;
  for (unsigned char c : b) {
    const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  absl::StatusOr<ApiKeys> keys = Parse(
      R"({"keys": [{"name": "team-a", "key": "key-of-team-a", "requests_per_minute": 120,
                    "max_concurrent_streams": 2, "max_prompt_tokens": 100, "max_tokens": 50},
                   {"name": "team-b", "key_sha256": ")" + hex + R"(", "disabled": true}]})");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(keys->size(), 2u);
  const KeyPolicy* a = keys->Find("key-of-team-a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->name, "team-a");
  EXPECT_EQ(a->requests_per_minute, 120);
  EXPECT_EQ(a->burst, 20) << "default burst: 10 s of refill";
  EXPECT_EQ(a->max_concurrent_streams, 2);
  EXPECT_EQ(a->max_prompt_tokens, 100u);
  EXPECT_EQ(a->max_tokens, 50u);
  const KeyPolicy* bp = keys->Find("key-of-team-b");
  ASSERT_NE(bp, nullptr);
  EXPECT_TRUE(bp->disabled);
  EXPECT_EQ(keys->Find("key-of-team-c"), nullptr);
  EXPECT_EQ(keys->Find(""), nullptr);
  EXPECT_EQ(keys->Find("key-of-team-a "), nullptr);
}

struct BadKeysFile {
  const char* json;
  const char* fragment;
};

class ApiKeysErrorTest : public ::testing::TestWithParam<BadKeysFile> {};

TEST_P(ApiKeysErrorTest, NamesTheFileEntryAndField) {
  absl::StatusOr<ApiKeys> keys = Parse(GetParam().json);
  ASSERT_FALSE(keys.ok()) << GetParam().json;
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(keys.status().message());
  EXPECT_NE(message.find("keys.json"), std::string::npos) << message;
  EXPECT_NE(message.find(GetParam().fragment), std::string::npos) << message;
}

INSTANTIATE_TEST_SUITE_P(
    Files, ApiKeysErrorTest,
    ::testing::Values(
        BadKeysFile{"not json", "not valid JSON"},
        BadKeysFile{R"([])", "\"keys\" list"},
        BadKeysFile{R"({"keys": []})", "\"keys\" is empty"},
        BadKeysFile{R"({"keys": [], "extra": 1})", "unknown field \"extra\""},
        BadKeysFile{R"({"keys": [{"key": "abcdefgh"}]})", "keys[0].name: is required"},
        BadKeysFile{R"({"keys": [{"name": "a"}]})", "keys[0].key: is required"},
        BadKeysFile{R"({"keys": [{"name": "a b", "key": "abcdefgh"}]})", "keys[0].name: must be 1-64"},
        BadKeysFile{R"({"keys": [{"name": "a", "key": "short"}]})", "keys[0].key: must be a string of at least 8"},
        BadKeysFile{R"({"keys": [{"name": "a", "key_sha256": "zz"}]})", "keys[0].key_sha256: must be 64 hex"},
        BadKeysFile{R"({"keys": [{"name": "a", "key": "abcdefgh", "requests_per_minute": -1}]})",
                    "keys[0].requests_per_minute: must be in [0"},
        BadKeysFile{R"({"keys": [{"name": "a", "key": "abcdefgh", "max_tokens": 1.5}]})",
                    "keys[0].max_tokens: must be a whole number"},
        BadKeysFile{R"({"keys": [{"name": "a", "key": "abcdefgh", "max_token": 5}]})",
                    "keys[0].max_token: unknown field"},
        BadKeysFile{R"({"keys": [{"name": "a", "key": "abcdefgh", "disabled": "yes"}]})",
                    "keys[0].disabled: must be true or false"},
        BadKeysFile{R"({"keys": [{"name": "a", "key": "abcdefgh"}, {"name": "a", "key": "ijklmnop"}]})",
                    "keys[1].name: \"a\" is used twice"},
        BadKeysFile{R"({"keys": [{"name": "a", "key": "abcdefgh"}, {"name": "b", "key": "abcdefgh"}]})",
                    "keys[1].key: the same key is listed twice"}));

TEST(ApiKeysTest, MissingFileNamesIt) {
  absl::StatusOr<ApiKeys> keys = ApiKeys::FromFile("/nonexistent/keys.json");
  ASSERT_FALSE(keys.ok());
  EXPECT_NE(std::string(keys.status().message()).find("/nonexistent/keys.json"), std::string::npos);
}

TEST(KeyQuotasTest, TokenBucketRefillsAtTheConfiguredRate) {
  KeyPolicy p;
  p.name = "a";
  p.requests_per_minute = 60;  // one per second
  p.burst = 2;
  KeyQuotas quotas;
  const Clock::time_point t0 = Clock::now();
  {
    absl::StatusOr<QuotaLease> first = quotas.Acquire(p, t0);
    absl::StatusOr<QuotaLease> second = quotas.Acquire(p, t0);
    ASSERT_TRUE(first.ok() && second.ok());
  }
  absl::StatusOr<QuotaLease> third = quotas.Acquire(p, t0 + std::chrono::milliseconds(250));
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(RefusalReason(third.status()), "rate_limited");
  ASSERT_TRUE(RetryAfterSeconds(third.status()).has_value());
  EXPECT_NEAR(*RetryAfterSeconds(third.status()), 0.75, 1e-3);
  EXPECT_NE(std::string(third.status().message()).find("'a'"), std::string::npos);
  EXPECT_TRUE(quotas.Acquire(p, t0 + std::chrono::milliseconds(1000)).ok());
  EXPECT_FALSE(quotas.Acquire(p, t0 + std::chrono::milliseconds(1100)).ok());
}

TEST(KeyQuotasTest, ConcurrencySlotsAreHeldByLeasesAndDoNotChargeTheBucket) {
  KeyPolicy p;
  p.name = "b";
  p.max_concurrent_streams = 2;
  KeyQuotas quotas;
  const Clock::time_point now = Clock::now();
  absl::StatusOr<QuotaLease> a = quotas.Acquire(p, now);
  absl::StatusOr<QuotaLease> b = quotas.Acquire(p, now);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(quotas.OpenCalls("b"), 2);
  absl::StatusOr<QuotaLease> c = quotas.Acquire(p, now);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(RefusalReason(c.status()), "concurrency_limited");
  *a = QuotaLease();  // one call ends
  EXPECT_EQ(quotas.OpenCalls("b"), 1);
  EXPECT_TRUE(quotas.Acquire(p, now).ok());
  EXPECT_EQ(quotas.OpenCalls("b"), 1) << "the temporary lease was released";
}

TEST(AccessControlTest, AuthenticatesAndRefusesWithTheRightCodes) {
  absl::StatusOr<std::unique_ptr<AccessControl>> none = AccessControl::Create({});
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE((*none)->requires_key());
  EXPECT_EQ((*none)->Authenticate("")->name, "anonymous");

  absl::StatusOr<std::unique_ptr<AccessControl>> one = AccessControl::Create({"s3cret-key", "", {}});
  ASSERT_TRUE(one.ok());
  std::string name;
  EXPECT_EQ((*one)->Authenticate("", &name).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(name, "unknown");
  EXPECT_EQ((*one)->Authenticate("s3cret-key").status().code(), absl::StatusCode::kUnauthenticated)
      << "the Bearer scheme is required";
  EXPECT_EQ((*one)->Authenticate("Bearer wrong").status().code(), absl::StatusCode::kUnauthenticated);
  absl::StatusOr<Caller> ok = (*one)->Authenticate("Bearer s3cret-key", &name);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->name, "default");
  EXPECT_EQ(name, "default");
}

TEST(AccessControlTest, CapsCombineServerAndKeyAndClampOnlyDefaults) {
  Caller c;
  c.caps = {100, 50};
  uint32_t max_tokens = 60;
  absl::Status s = ApplyCaps(c, 10, /*max_tokens_given=*/true, &max_tokens);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(s.message()).find("max_tokens: 60 is more than the 50"), std::string::npos) << s;
  EXPECT_TRUE(ApplyCaps(c, 10, /*max_tokens_given=*/false, &max_tokens).ok());
  EXPECT_EQ(max_tokens, 50u) << "an unset max_tokens is lowered to the cap";
  s = ApplyCaps(c, 101, false, &max_tokens);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RefusalReason(s), "prompt_too_long");
  EXPECT_TRUE(ApplyCaps(c, 100, false, &max_tokens).ok());
}

TEST(RefusalTest, CarriesReasonAndRetryAfter) {
  absl::Status s = Refusal(absl::StatusCode::kResourceExhausted, "full", "queue_full", 2.5);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(), "full");
  EXPECT_EQ(RefusalReason(s), "queue_full");
  EXPECT_DOUBLE_EQ(*RetryAfterSeconds(s), 2.5);
  EXPECT_EQ(RefusalReason(absl::InvalidArgumentError("x")), "");
  EXPECT_FALSE(RetryAfterSeconds(absl::InvalidArgumentError("x")).has_value());
}

TEST(QueueTimeEstimatorTest, EstimatesFromTheRecentAdmissionRate) {
  QueueTimeEstimator e;
  const Clock::time_point t0 = Clock::now();
  EXPECT_EQ(e.Estimate(0, t0), 0.0) << "nobody ahead: no wait";
  EXPECT_FALSE(e.Estimate(3, t0).has_value()) << "no rate measured: no estimate";
  for (int i = 0; i < 9; ++i) e.OnAdmitted(t0 + std::chrono::milliseconds(500 * i));  // 2 per second
  const Clock::time_point now = t0 + std::chrono::milliseconds(4000);
  ASSERT_TRUE(e.AdmissionRate(now).has_value());
  EXPECT_NEAR(*e.AdmissionRate(now), 2.0, 1e-9);
  EXPECT_NEAR(*e.Estimate(3, now), 2.0, 1e-9) << "(3 ahead + itself) / 2 per second";
  // A stall lowers the rate: the window reaches to now.
  EXPECT_NEAR(*e.AdmissionRate(t0 + std::chrono::seconds(8)), 1.0, 1e-9);
  EXPECT_FALSE(e.AdmissionRate(t0 + std::chrono::seconds(100)).has_value()) << "samples aged out";
}

}  // namespace
}  // namespace attnserve::server

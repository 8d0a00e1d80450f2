// The access gate end to end over gRPC on a real daemon started with --api_keys_file: missing,
// wrong and disabled keys, the per-key rate and concurrency quotas (RESOURCE_EXHAUSTED with
// retry-after trailers), prompt and max_tokens caps, per-key metrics, open health/reflection, and
// a SIGHUP reload of the keys file (a good file takes effect, a broken one is refused and the old
// keys stay).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <fstream>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

constexpr char kKeysJson[] = R"({"keys": [
  {"name": "full", "key": "key-full-0001"},
  {"name": "limited", "key": "key-limited-0002", "requests_per_minute": 1, "burst": 2},
  {"name": "solo", "key": "key-solo-0003", "max_concurrent_streams": 1},
  {"name": "capped", "key": "key-capped-0004", "max_prompt_tokens": 8, "max_tokens": 4},
  {"name": "off", "key": "key-off-0005", "disabled": true}
]})";

std::string WriteFile(const std::string& name, const std::string& text) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     (name + "-" + std::to_string(::getpid()));
  std::ofstream(path) << text;
  return path.string();
}

class AccessE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    keys_file_ = new std::string(WriteFile("attnserve-keys.json", kKeysJson));
    std::string error;
    auto daemon = std::make_unique<StartedDaemon>();
    ASSERT_TRUE(daemon->process.Start(DefaultModelDir(), {"--api_keys_file=" + *keys_file_, "--max_prompt_tokens=64"},
                                      std::chrono::seconds(60), &error))
        << error;
    daemon->channel = MakeChannel(daemon->process.address());
    daemon->stub = v1::Inference::NewStub(daemon->channel);
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer key-full-0001");
    ASSERT_TRUE(daemon->stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &daemon->info).ok());
    daemon_ = daemon.release();
  }
  static void TearDownTestSuite() {
    delete daemon_;
    daemon_ = nullptr;
    std::filesystem::remove(*keys_file_);
    delete keys_file_;
  }
  void SetUp() override { ASSERT_NE(daemon_, nullptr); }

  // One Generate with `key` ("" = none); trailers in *trailers when given.
  static GenerateResult Call(const std::string& key, const v1::GenerateRequest& request,
                             std::multimap<std::string, std::string>* trailers = nullptr,
                             grpc::ClientContext* use_context = nullptr) {
    grpc::ClientContext own;
    grpc::ClientContext& context = use_context != nullptr ? *use_context : own;
    if (!key.empty()) context.AddMetadata("authorization", "Bearer " + key);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    GenerateResult result;
    auto reader = daemon_->stub->Generate(&context, request);
    v1::GenerateResponse response;
    while (reader->Read(&response)) result.responses.push_back(response);
    result.status = reader->Finish();
    if (trailers != nullptr) {
      for (const auto& [k, v] : context.GetServerTrailingMetadata()) {
        trailers->emplace(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
      }
    }
    return result;
  }

  static StartedDaemon* daemon_;
  static std::string* keys_file_;
};
StartedDaemon* AccessE2eTest::daemon_ = nullptr;
std::string* AccessE2eTest::keys_file_ = nullptr;

TEST_F(AccessE2eTest, MissingWrongAndDisabledKeysAreRefused) {
  GenerateResult none = Call("", GreedyRequest("Hello", 2));
  EXPECT_EQ(none.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(none.status.error_message().find("missing API key"), std::string::npos) << none.status.error_message();
  GenerateResult wrong = Call("key-nobody-9999", GreedyRequest("Hello", 2));
  EXPECT_EQ(wrong.status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(wrong.status.error_message().find("wrong API key"), std::string::npos);
  EXPECT_EQ(wrong.status.error_message().find("key-nobody"), std::string::npos) << "keys are never echoed";
  GenerateResult off = Call("key-off-0005", GreedyRequest("Hello", 2));
  EXPECT_EQ(off.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(off.status.error_message().find("'off' is disabled"), std::string::npos);
  // Unary calls need the key too; health and reflection do not.
  grpc::ClientContext context;
  v1::TokenizeRequest tokenize;
  tokenize.set_text("hi");
  v1::TokenizeResponse tokens;
  EXPECT_EQ(daemon_->stub->Tokenize(&context, tokenize, &tokens).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(HealthStatus(daemon_->channel, "attnserve.v1.Inference"), "SERVING");
  EXPECT_FALSE(ReflectionServices(daemon_->channel).empty());
  GenerateResult good = Call("key-full-0001", GreedyRequest("Hello", 2));
  EXPECT_TRUE(good.status.ok()) << good.status.error_message();
  EXPECT_EQ(good.AllTokenIds().size(), 2u);
}

TEST_F(AccessE2eTest, RateQuotaRefusesWithRetryAfterAndCountsPerKey) {
  // requests_per_minute 1, burst 2: two calls pass, the third is refused for about a minute.
  EXPECT_TRUE(Call("key-limited-0002", GreedyRequest("Hello", 1)).status.ok());
  EXPECT_TRUE(Call("key-limited-0002", GreedyRequest("Hello", 1)).status.ok());
  std::multimap<std::string, std::string> trailers;
  GenerateResult third = Call("key-limited-0002", GreedyRequest("Hello", 1), &trailers);
  EXPECT_EQ(third.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(third.status.error_message().find("'limited' is over its rate"), std::string::npos)
      << third.status.error_message();
  ASSERT_EQ(trailers.count("retry-after"), 1u);
  const int retry_after = std::stoi(trailers.find("retry-after")->second);
  EXPECT_GE(retry_after, 50);
  EXPECT_LE(retry_after, 60);
  ASSERT_EQ(trailers.count("grpc-retry-pushback-ms"), 1u);
  EXPECT_GT(std::stoll(trailers.find("grpc-retry-pushback-ms")->second), 50000);
  // Other keys are not affected.
  EXPECT_TRUE(Call("key-full-0001", GreedyRequest("Hello", 1)).status.ok());
  const std::string metrics = daemon_->MetricsText();
  EXPECT_EQ(MetricValue(metrics, "attnserve_api_key_requests_total", R"(key="limited")"), 2);
  EXPECT_EQ(MetricValue(metrics, "attnserve_api_key_rejections_total",
                        R"(key="limited",reason="rate_limited")"), 1);
  EXPECT_GE(MetricValue(metrics, "attnserve_requests_rejected_total", R"(reason="rate_limited")").value_or(0), 1);
}

TEST_F(AccessE2eTest, ConcurrencyQuotaHoldsASlotUntilTheStreamEnds) {
  grpc::ClientContext first_context;
  first_context.AddMetadata("authorization", "Bearer key-solo-0003");
  auto first = daemon_->stub->Generate(&first_context, LongRequest(daemon_->info));
  v1::GenerateResponse response;
  ASSERT_TRUE(first->Read(&response)) << "the long stream started";
  GenerateResult second = Call("key-solo-0003", GreedyRequest("Hello", 1));
  EXPECT_EQ(second.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(second.status.error_message().find("1 of its 1 concurrent calls"), std::string::npos)
      << second.status.error_message();
  first_context.TryCancel();
  while (first->Read(&response)) {
  }
  EXPECT_EQ(first->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The slot comes back once the server has finished the cancelled call.
  grpc::Status after;
  for (auto end = std::chrono::steady_clock::now() + kSettleTimeout; std::chrono::steady_clock::now() < end;) {
    after = Call("key-solo-0003", GreedyRequest("Hello", 1)).status;
    if (after.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(after.ok()) << after.error_message();
}

TEST_F(AccessE2eTest, CapsOfTheKeyAndTheServerBoundRequests) {
  v1::GenerateRequest long_prompt = GreedyRequest("one two three four five six seven eight nine ten eleven", 2);
  GenerateResult too_long = Call("key-capped-0004", long_prompt);
  EXPECT_EQ(too_long.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(too_long.status.error_message().find("prompt:"), std::string::npos) << too_long.status.error_message();
  EXPECT_NE(too_long.status.error_message().find("more than the 8 allowed"), std::string::npos);
  GenerateResult too_many = Call("key-capped-0004", GreedyRequest("Hi", 5));
  EXPECT_EQ(too_many.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(too_many.status.error_message().find("max_tokens: 5 is more than the 4 allowed"), std::string::npos)
      << too_many.status.error_message();
  // Not set: the default (16) is lowered to the cap.
  v1::GenerateRequest unset = GreedyRequest("Hi", 1);
  unset.clear_max_tokens();
  GenerateResult clamped = Call("key-capped-0004", unset);
  ASSERT_TRUE(clamped.status.ok()) << clamped.status.error_message();
  EXPECT_EQ(clamped.AllTokenIds().size(), 4u);
  // The server's --max_prompt_tokens=64 bounds keys without a cap of their own.
  v1::GenerateRequest sixty_five = GreedyRequest("", 1);
  for (int i = 0; i < 65; ++i) sixty_five.add_prompt_token_ids(5);
  sixty_five.clear_prompt();
  GenerateResult server_cap = Call("key-full-0001", sixty_five);
  EXPECT_EQ(server_cap.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(server_cap.status.error_message().find("65 tokens is more than the 64 allowed (the server's "
                                                   "--max_prompt_tokens)"), std::string::npos)
      << server_cap.status.error_message();
}

TEST_F(AccessE2eTest, SighupReloadsTheKeysFileAndKeepsTheOldOneWhenBroken) {
  EXPECT_EQ(Call("key-newcomer-0006", GreedyRequest("Hi", 1)).status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  std::string with_newcomer = kKeysJson;
  with_newcomer.insert(with_newcomer.find("{\"name\": \"full\""),
                       R"({"name": "newcomer", "key": "key-newcomer-0006"},)" "\n  ");
  std::ofstream(*keys_file_) << with_newcomer;
  daemon_->process.Signal(SIGHUP);
  grpc::Status status;
  for (auto end = std::chrono::steady_clock::now() + kSettleTimeout; std::chrono::steady_clock::now() < end;) {
    status = Call("key-newcomer-0006", GreedyRequest("Hi", 1)).status;
    if (status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(status.ok()) << "the new key works after SIGHUP: " << status.error_message();

  std::ofstream(*keys_file_) << "{ broken";
  daemon_->process.Signal(SIGHUP);
  for (auto end = std::chrono::steady_clock::now() + kSettleTimeout; std::chrono::steady_clock::now() < end;) {
    if (daemon_->process.stderr_text().find("API keys kept") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(daemon_->process.stderr_text().find("API keys kept: --api_keys_file"), std::string::npos)
      << daemon_->process.stderr_text();
  EXPECT_TRUE(Call("key-newcomer-0006", GreedyRequest("Hi", 1)).status.ok()) << "the last good table stays";
  EXPECT_EQ(daemon_->process.stderr_text().find("key-full-0001"), std::string::npos) << "keys are never logged";
  std::ofstream(*keys_file_) << kKeysJson;
}

TEST(AccessStartupTest, BadKeysFileStopsStartupNamingTheField) {
  const std::string path = WriteFile("attnserve-bad-keys.json", R"({"keys": [{"name": "a", "key": "abcdefgh", "burst": 0}]})");
  ExitResult r = RunToExit({"--model=" + DefaultModelDir(), "--port=0", "--metrics_port=0", "--api_keys_file=" + path},
                           std::chrono::seconds(60));
  std::filesystem::remove(path);
  EXPECT_TRUE(r.exited);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.stderr_text.find("--api_keys_file " + path + ": keys[0].burst: must be in [1"), std::string::npos)
      << r.stderr_text;
}

}  // namespace
}  // namespace attnserve::testing

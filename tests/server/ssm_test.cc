// State-space models through the real daemon (issue 6): Mamba-2 and Jamba serve concurrent
// streams with continuous batching and give each stream the tokens it gets alone; GetModelInfo
// shows the mixers and the memory per token / per sequence; GetServerStatus and /metrics show the
// recurrent-state slots; an unsupported SSM option is a start-up error naming it.
#include <filesystem>
#include <fstream>
#include <thread>

#include "nlohmann/json.hpp"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

namespace fs = std::filesystem;

v1::GenerateRequest TokenRequest(int seed, int prompt_len, uint32_t max_tokens) {
  v1::GenerateRequest request = GreedyRequest("", max_tokens);
  request.clear_prompt();
  for (int i = 0; i < prompt_len; ++i) request.add_prompt_token_ids(2 + (seed * 131 + i * 37) % 500);
  return request;
}

class SsmDaemonTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SsmDaemonTest, ConcurrentStreamsMatchTheirAloneTokens) {
  std::string error;
  auto daemon = StartedDaemon::Start({std::string("--model=") + ATTNSERVE_GOLDEN_MODELS_DIR + "/" + GetParam(),
                                      "--max_num_batched_tokens=16", "--max_num_seqs=3"},
                                     &error);
  ASSERT_NE(daemon, nullptr) << error;
  const v1::ModelInfo& info = daemon->info;
  EXPECT_GT(info.recurrent_state_bytes_per_sequence(), 0u);
  bool any_mamba = false;
  for (const auto& layer : info.layers()) any_mamba |= layer.mixer() == "mamba" || layer.mixer() == "mamba2";
  EXPECT_TRUE(any_mamba);

  constexpr int kStreams = 5;  // more than --max_num_seqs: some wait for a slot
  std::vector<std::vector<int32_t>> alone(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    const GenerateResult r = Generate(*daemon->stub, TokenRequest(i, 10 + 9 * i, 20));
    ASSERT_TRUE(r.status.ok()) << r.status.error_message();
    alone[i] = r.AllTokenIds();
    ASSERT_EQ(alone[i].size(), 20u);
  }
  std::vector<GenerateResult> together(kStreams);
  std::vector<std::thread> threads;
  for (int i = 0; i < kStreams; ++i)
    threads.emplace_back([&, i] { together[i] = Generate(*daemon->stub, TokenRequest(i, 10 + 9 * i, 20)); });
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < kStreams; ++i) {
    ASSERT_TRUE(together[i].status.ok()) << together[i].status.error_message();
    EXPECT_EQ(together[i].AllTokenIds(), alone[i]) << "stream " << i;
  }
  v1::ServerStatus status;
  ASSERT_TRUE(WaitForServerStatus(*daemon->stub, [](const v1::ServerStatus& s) {
    return s.num_requests_running() == 0 && s.recurrent_state_slots_used() == 0;
  }, std::chrono::milliseconds(5000), &status));
  EXPECT_EQ(status.recurrent_state_slots_total(), 3u);
  const std::string metrics = daemon->MetricsText();
  EXPECT_EQ(MetricValue(metrics, "attnserve_recurrent_state_slots_total").value_or(-1), 3.0);
  EXPECT_EQ(MetricValue(metrics, "attnserve_recurrent_state_slots_used").value_or(-1), 0.0);
}

INSTANTIATE_TEST_SUITE_P(Models, SsmDaemonTest, ::testing::Values("mamba2_tiny", "jamba_tiny"));

TEST(SsmDaemonStartupTest, UnsupportedConvKernelIsNamed) {
  std::string pattern = (fs::temp_directory_path() / "attnserve-mamba-XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  fs::copy(std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/mamba_tiny", dir, fs::copy_options::recursive);
  nlohmann::json config = nlohmann::json::parse(std::ifstream(dir / "config.json"));
  config["conv_kernel"] = 16;
  std::ofstream(dir / "config.json") << config.dump(2);
  const ExitResult result = RunToExit({"--model=" + dir.string(), "--host=127.0.0.1",
                                       "--port=" + std::to_string(FreePort()), "--metrics_port=0"},
                                      std::chrono::seconds(60));
  fs::remove_all(dir);
  ASSERT_TRUE(result.exited) << result.stderr_text;
  EXPECT_NE(result.exit_code, 0) << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("conv_kernel"), std::string::npos) << result.stderr_text;
  EXPECT_NE(result.stderr_text.find("config.json"), std::string::npos) << result.stderr_text;
}

}  // namespace
}  // namespace attnserve::testing

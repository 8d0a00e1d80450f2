// Start-up failures of the real daemon: each run must exit non-zero and say on stderr which file
// or setting is wrong. Broken models are made from a temp copy of the default model. The bad flag
// values and model files are rows of the catalogue (bad_input_catalogue_tables.cc); this file
// keeps the cases that need more than one input: a wrong tensor shape, ports held by a listener.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

namespace fs = std::filesystem;

constexpr auto kExitTimeout = std::chrono::seconds(60);

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

class StartupErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "attnserve-model-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    model_dir_ = pattern;
    fs::copy(DefaultModelDir(), model_dir_, fs::copy_options::recursive);
  }
  void TearDown() override { fs::remove_all(model_dir_); }

  void EditConfig(const std::function<void(nlohmann::json&)>& edit) {
    const fs::path path = fs::path(model_dir_) / "config.json";
    nlohmann::json config = nlohmann::json::parse(std::ifstream(path));
    edit(config);
    std::ofstream(path) << config.dump(2);
  }

  ExitResult Run() {
    return RunToExit({"--model=" + model_dir_, "--host=127.0.0.1",
                      "--port=" + std::to_string(FreePort()), "--metrics_port=0"},
                     kExitTimeout);
  }

  std::string model_dir_;
};

void ExpectFailedStartup(const ExitResult& result) {
  ASSERT_TRUE(result.exited) << "still running after " << kExitTimeout.count() << " s:\n"
                             << result.stderr_text;
  EXPECT_EQ(result.signal, 0) << "crashed with signal " << result.signal << ":\n"
                              << result.stderr_text;
  EXPECT_NE(result.exit_code, 0) << result.stderr_text;
}

TEST_F(StartupErrorTest, CopiedModelStartsAndStops) {  // the baseline for the broken copies
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(daemon.Start(model_dir_, {}, std::chrono::seconds(120), &error)) << error;
  const ExitResult exit = daemon.Stop(std::chrono::seconds(20));
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.exit_code, 0) << exit.stderr_text;
}

TEST_F(StartupErrorTest, TensorWithTheWrongShape) {
  EditConfig([](nlohmann::json& config) {
    config["intermediate_size"] = config["intermediate_size"].get<int>() * 2;
  });
  const ExitResult result = Run();
  ExpectFailedStartup(result);
  const std::string message = Lower(result.stderr_text);
  EXPECT_TRUE(message.find("shape") != std::string::npos ||
              message.find("expected") != std::string::npos)
      << result.stderr_text;
  EXPECT_NE(message.find("mlp"), std::string::npos) << "does not name the tensor:\n"
                                                    << result.stderr_text;
}

// Holds a listening TCP socket on 127.0.0.1 (without SO_REUSEPORT, so nobody can share it).
class BusyPort {
 public:
  BusyPort() : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 1);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~BusyPort() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_;
  int port_ = 0;
};

TEST_F(StartupErrorTest, GrpcPortInUse) {
  BusyPort busy;
  const ExitResult result =
      RunToExit({"--model=" + model_dir_, "--host=127.0.0.1", "--port=" + std::to_string(busy.port()),
                 "--metrics_port=0"},
                kExitTimeout);
  ExpectFailedStartup(result);
  EXPECT_NE(result.stderr_text.find(std::to_string(busy.port())), std::string::npos)
      << result.stderr_text;
}

TEST_F(StartupErrorTest, MetricsPortInUse) {
  BusyPort busy;
  const ExitResult result = RunToExit(
      {"--model=" + model_dir_, "--host=127.0.0.1", "--port=" + std::to_string(FreePort()),
       "--metrics_port=" + std::to_string(busy.port())},
      kExitTimeout);
  ExpectFailedStartup(result);
  EXPECT_NE(result.stderr_text.find(std::to_string(busy.port())), std::string::npos)
      << result.stderr_text;
}

TEST_F(StartupErrorTest, HelpListsTheFlags) {
  const ExitResult result = RunToExit({"--help"}, kExitTimeout);
  ASSERT_TRUE(result.exited);
  for (const char* flag :
       {"--model", "--host", "--port", "--metrics_port", "--num_threads", "--max_model_len",
        "--max_waiting_requests", "--served_model_name", "--max_num_seqs",
        "--max_num_batched_tokens", "--kv_cache_bytes", "--kv_cache_memory_fraction",
        "--block_size", "--enable_prefix_caching", "--max_queue_time", "--drain_timeout",
        "--shutdown_grace_seconds", "--attention", "--context_policy", "--expert_shards", "--expert_placement"}) {
    EXPECT_NE(result.stderr_text.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace attnserve::testing

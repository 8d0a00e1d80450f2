// Process faults through the real daemon (issue 19's soak and fault test; drain_test.cc covers
// one running + one queued stream):
// * SIGTERM with 16 streams accepted (4 running, 12 queued): every one finishes OK with all its
//   tokens during the drain, new calls get UNAVAILABLE meanwhile, the process exits 0;
// * SIGKILL mid-stream, then a restart on the same gRPC, HTTP and metrics ports: the killed
//   streams end UNAVAILABLE (none hangs), and the new process serves the old client channel the
//   same greedy tokens as before, with /health and /metrics answering.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

constexpr auto kExitTimeout = std::chrono::seconds(60);
constexpr int kDrainStreams = 16;
constexpr uint32_t kDrainTokens = 300;

TEST(ProcessFaultTest, SigtermUnderLoadFinishesEveryAcceptedStream) {
  std::string error;
  std::unique_ptr<StartedDaemon> daemon =
      StartedDaemon::Start({"--max_num_seqs=4", "--drain_timeout=120"}, &error);
  ASSERT_NE(daemon, nullptr) << error;
  std::vector<std::unique_ptr<OpenStream>> streams;
  for (int i = 0; i < kDrainStreams; ++i) {
    streams.push_back(std::make_unique<OpenStream>(
        *daemon->stub, GreedyRequest("Stream " + std::to_string(i) + " before the signal", kDrainTokens)));
  }
  v1::ServerStatus status;
  ASSERT_TRUE(WaitForServerStatus(
      *daemon->stub,
      [](const v1::ServerStatus& s) {
        return s.num_requests_running() + s.num_requests_waiting() == kDrainStreams;
      },
      kSettleTimeout, &status))
      << "not every stream was accepted before the signal: " << status.ShortDebugString();

  daemon->process.Signal(SIGTERM);
  ASSERT_TRUE(WaitForServerStatus(
      *daemon->stub, [](const v1::ServerStatus& s) { return s.draining(); }, kSettleTimeout, &status))
      << status.ShortDebugString();
  EXPECT_GT(status.num_requests_waiting(), 0u) << "the queue emptied before the drain checks";
  for (int i = 0; i < 4; ++i) {
    const GenerateResult refused = Generate(*daemon->stub, GreedyRequest("After the signal", 4));
    EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << refused.status.error_message();
  }

  for (int i = 0; i < kDrainStreams; ++i) {
    SCOPED_TRACE("stream " + std::to_string(i));
    const GenerateResult result = streams[i]->Finish();
    EXPECT_TRUE(result.status.ok()) << result.status.error_code() << ": " << result.status.error_message();
    EXPECT_EQ(result.AllTokenIds().size(), kDrainTokens);
    ASSERT_FALSE(result.responses.empty());
    EXPECT_EQ(result.Last().finish_reason(), v1::LENGTH);
  }
  const ExitResult exit = daemon->process.WaitForExit(kExitTimeout);
  EXPECT_TRUE(exit.exited) << exit.stderr_text;
  EXPECT_EQ(exit.exit_code, 0) << exit.stderr_text;
  EXPECT_NE(exit.stderr_text.find("drained"), std::string::npos) << exit.stderr_text;
}

// A daemon child on ports the test chooses (DaemonProcess picks fresh ones itself), so a second
// process can take over the first one's ports.
class PinnedDaemon {
 public:
  ~PinnedDaemon() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (!log_.empty()) std::remove(log_.c_str());
  }

  void Spawn(const std::vector<std::string>& args) {
    log_ = (std::filesystem::temp_directory_path() /
            ("attnserve-pinned-" + std::to_string(getpid()) + "-" +
             std::to_string(reinterpret_cast<uintptr_t>(this)) + ".log"))
               .string();
    std::vector<std::string> strings = {ATTNSERVE_BINARY};
    strings.insert(strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& s : strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      const int fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }

  // Health SERVING on `address` within `timeout` (a fresh channel per probe), while alive.
  bool WaitServing(const std::string& address, std::chrono::seconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (waitpid(pid_, &wait_status_, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      if (HealthStatus(MakeChannel(address), "attnserve.v1.Inference") == "SERVING") return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Sends `signal_number` and waits for the exit; the raw waitpid status, or -1 on timeout.
  int SignalAndWait(int signal_number, std::chrono::seconds timeout) {
    if (pid_ <= 0) return wait_status_;
    kill(pid_, signal_number);
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (waitpid(pid_, &wait_status_, WNOHANG) == pid_) {
        pid_ = -1;
        return wait_status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  std::string log() const {
    std::ifstream in(log_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  pid_t pid_ = -1;
  int wait_status_ = -1;
  std::string log_;
};

TEST(ProcessFaultTest, SigkillThenRestartOnTheSamePortsServesAgain) {
  const int port = FreePort();
  int metrics_port = FreePort(), http_port = FreePort();
  while (metrics_port == port) metrics_port = FreePort();
  while (http_port == port || http_port == metrics_port) http_port = FreePort();
  const std::vector<std::string> args = {
      "--model=" + DefaultModelDir(), "--host=127.0.0.1", "--port=" + std::to_string(port),
      "--metrics_port=" + std::to_string(metrics_port), "--http_port=" + std::to_string(http_port),
      "--num_threads=1"};
  const std::string address = "127.0.0.1:" + std::to_string(port);

  PinnedDaemon first;
  first.Spawn(args);
  ASSERT_TRUE(first.WaitServing(address, std::chrono::seconds(120))) << first.log();
  const std::shared_ptr<grpc::Channel> channel = MakeChannel(address);  // kept across the restart
  auto stub = v1::Inference::NewStub(channel);
  const GenerateResult before = Generate(*stub, GreedyRequest("And it came to pass", 12));
  ASSERT_TRUE(before.status.ok()) << before.status.error_message();
  v1::ModelInfo info;
  {
    grpc::ClientContext context;
    ASSERT_TRUE(stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info).ok());
  }
  std::vector<std::unique_ptr<OpenStream>> killed;
  for (int i = 0; i < 4; ++i) {
    killed.push_back(std::make_unique<OpenStream>(*stub, LongRequest(info)));
    v1::GenerateResponse first_message;
    ASSERT_TRUE(killed.back()->reader->Read(&first_message));
  }

  const int status = first.SignalAndWait(SIGKILL, kExitTimeout);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "wait status " << status;
  for (auto& stream : killed) {
    const GenerateResult result = stream->Finish();  // must end, not hang until the deadline
    EXPECT_EQ(result.status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << result.status.error_code() << ": " << result.status.error_message();
  }

  PinnedDaemon second;
  second.Spawn(args);
  ASSERT_TRUE(second.WaitServing(address, std::chrono::seconds(120)))
      << "the restart did not serve on the same ports:\n" << second.log();
  {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);  // the old channel reconnects after its backoff
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
    auto reader = stub->Generate(&context, GreedyRequest("And it came to pass", 12));
    GenerateResult after;
    v1::GenerateResponse message;
    while (reader->Read(&message)) after.responses.push_back(message);
    after.status = reader->Finish();
    ASSERT_TRUE(after.status.ok()) << after.status.error_message();
    EXPECT_EQ(after.AllTokenIds(), before.AllTokenIds());
  }
  EXPECT_NE(HttpGet(http_port, "/health").find("serving"), std::string::npos) << second.log();
  EXPECT_TRUE(MetricValue(HttpGet(metrics_port, "/metrics"), "attnserve_requests_total").has_value())
      << second.log();
  const int stopped = second.SignalAndWait(SIGTERM, kExitTimeout);
  EXPECT_TRUE(WIFEXITED(stopped) && WEXITSTATUS(stopped) == 0) << second.log();
}

}  // namespace
}  // namespace attnserve::testing

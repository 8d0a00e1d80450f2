// DaemonProcess and helpers (see daemon_process.h). POSIX fork/exec; stderr goes to a temp file.
#include "tests/server/daemon_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/server/test_client.h"

#ifndef ATTNSERVE_BINARY
#error "ATTNSERVE_BINARY must point at the attnserve executable"
#endif

namespace attnserve::testing {
namespace {

std::string MakeTempFile(const char* stem) {
  std::string path = (std::filesystem::temp_directory_path() / (std::string(stem) + "XXXXXX"));
  const int fd = mkstemp(path.data());
  if (fd >= 0) close(fd);
  return path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// fork + exec ATTNSERVE_BINARY with stdout/stderr appended to `stderr_path`.
pid_t Spawn(const std::vector<std::string>& args, const std::string& stderr_path) {
  std::vector<std::string> argv_strings = {ATTNSERVE_BINARY};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& s : argv_strings) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed test
    const int fd = open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for `pid` up to `timeout`; fills *result when it exited.
bool WaitFor(pid_t pid, std::chrono::milliseconds timeout, ExitResult* result) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result->exited = true;
      if (WIFEXITED(status)) result->exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) result->signal = WTERMSIG(status);
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

ExitResult RunToExit(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  const std::string stderr_path = MakeTempFile("attnserve-stderr-");
  const pid_t pid = Spawn(args, stderr_path);
  ExitResult result;
  if (!WaitFor(pid, timeout, &result)) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  result.stderr_text = ReadFile(stderr_path);
  std::remove(stderr_path.c_str());
  return result;
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  if (!stderr_path_.empty()) std::remove(stderr_path_.c_str());
}

bool DaemonProcess::Start(const std::string& model_dir, const std::vector<std::string>& extra_args,
                          std::chrono::seconds timeout, std::string* error) {
  port_ = FreePort();
  metrics_port_ = FreePort();
  while (metrics_port_ == port_) metrics_port_ = FreePort();
  // One compute thread: ctest runs several daemons at once on few cores, and spinning OpenMP
  // barriers of oversubscribed daemons can stall for a scheduler tick each (later flags win).
  std::vector<std::string> args = {"--model=" + model_dir, "--host=127.0.0.1",
                                   "--port=" + std::to_string(port_),
                                   "--metrics_port=" + std::to_string(metrics_port_),
                                   "--num_threads=1"};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  stderr_path_ = MakeTempFile("attnserve-daemon-");
  pid_ = Spawn(args, stderr_path_);

  const auto end = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < end) {
    ExitResult exited;
    if (WaitFor(pid_, std::chrono::milliseconds(0), &exited)) {
      pid_ = -1;
      *error = "attnserve exited during start-up (code " + std::to_string(exited.exit_code) +
               "):\n" + stderr_text();
      return false;
    }
    // A fresh channel per probe: a channel that saw "connection refused" backs off for seconds.
    const std::shared_ptr<grpc::Channel> channel =
        channel_factory_ ? channel_factory_(address()) : MakeChannel(address());
    if (HealthStatus(channel, "attnserve.v1.Inference") == "SERVING") return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  *error = "attnserve not SERVING after " + std::to_string(timeout.count()) + " s:\n" +
           stderr_text();
  return false;
}

ExitResult DaemonProcess::Stop(std::chrono::seconds timeout) {
  Signal(SIGTERM);
  return WaitForExit(timeout);
}

void DaemonProcess::Signal(int signal_number) {
  if (pid_ > 0) kill(pid_, signal_number);
}

ExitResult DaemonProcess::WaitForExit(std::chrono::seconds timeout) {
  ExitResult result;
  if (pid_ <= 0) return result;
  if (!WaitFor(pid_, timeout, &result)) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
  result.stderr_text = stderr_text();
  return result;
}

std::string DaemonProcess::stderr_text() const {
  return stderr_path_.empty() ? std::string() : ReadFile(stderr_path_);
}

}  // namespace attnserve::testing

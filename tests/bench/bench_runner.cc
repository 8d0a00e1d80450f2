// RunBench (see bench_runner.h): fork + execv with stdout/stderr in a temp log, polled waitpid.
#include "tests/bench/bench_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#ifndef ATTNSERVE_BENCH_BINARY
#error "ATTNSERVE_BENCH_BINARY must point at the attnserve-bench executable"
#endif

namespace attnserve::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

BenchRun RunBench(std::vector<std::string> args, std::chrono::seconds timeout,
                  const std::function<void()>& while_running) {
  const auto dir = std::filesystem::temp_directory_path();
  const std::string stem = "attnserve-bench-" + std::to_string(getpid()) + "-" +
                           std::to_string(reinterpret_cast<uintptr_t>(&args));
  const std::string json_path = (dir / (stem + ".json")).string();
  const std::string log_path = (dir / (stem + ".log")).string();
  args.insert(args.begin(), ATTNSERVE_BENCH_BINARY);
  args.push_back("--json=" + json_path);
  std::vector<char*> argv;
  for (std::string& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  if (while_running) while_running();
  BenchRun run;
  int status = 0;
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.output = ReadAll(log_path);
  const std::string json_text = ReadAll(json_path);
  if (!json_text.empty()) run.json = nlohmann::json::parse(json_text, nullptr, false);
  std::remove(json_path.c_str());
  std::remove(log_path.c_str());
  return run;
}

}  // namespace attnserve::testing

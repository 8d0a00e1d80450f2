// RunBench: runs the real attnserve-bench binary (ATTNSERVE_BENCH_BINARY) as a child process for
// the bench tests (bench_smoke_test.cc, soak_fault_test.cc) and collects its exit code, its
// output and the JSON report it writes with --json.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace attnserve::testing {

struct BenchRun {
  int exit_code = -1;     // -1: killed (timeout) or ended by a signal
  std::string output;     // stdout + stderr
  nlohmann::json json;    // the --json report; discarded (not an object) when none was written
};

// Runs attnserve-bench with `args` plus --json=<temp file>; SIGKILLed after `timeout`.
// `while_running` runs on the calling thread once the child has started.
BenchRun RunBench(std::vector<std::string> args, std::chrono::seconds timeout,
                  const std::function<void()>& while_running = nullptr);

}  // namespace attnserve::testing

// RunLoad: sends a workload to the server under one arrival process and waits for every answer.
//
//   open loop:   request i is released at t_i (Poisson: exponential gaps of mean 1/request_rate,
//                seeded; request_rate = inf releases all at t = 0)
//   cap:         a released request waits for a free slot while max_concurrency are in flight
//   closed loop: request_rate = inf with max_concurrency = N (N always in flight)
//
// Calls run on the gRPC callback API; the calling thread only paces arrivals and waits.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

#include "attnserve/v1/inference.grpc.pb.h"
#include "clients/bench/request_record.h"

namespace attnserve::bench {

struct LoadOptions {
  double request_rate = std::numeric_limits<double>::infinity();  // requests/s
  uint32_t max_concurrency = 0;                                   // 0 = no cap
  uint64_t seed = 0;                                              // arrival process
  std::optional<std::chrono::milliseconds> timeout;               // per-request deadline
};

struct RunResult {
  std::vector<RequestRecord> records;  // one per request, in workload order
  Clock::time_point start;             // the first release
  Clock::time_point end;               // the last status
  double duration_s() const { return std::chrono::duration<double>(end - start).count(); }
};

// Starts one call of `request` that fills `record` and then runs `on_done` exactly once, on any
// thread, without blocking (GenerateCall::Start over gRPC, OpenAiStreamClient::Start over HTTP).
using CallStarter = std::function<void(const v1::GenerateRequest& request, RequestRecord* record,
                                       std::function<void()> on_done)>;

// Blocks until every request has finished (OK or not). Thread-compatible: one run at a time.
RunResult RunLoad(const CallStarter& start, const std::vector<v1::GenerateRequest>& requests,
                  const LoadOptions& options);
// The same over gRPC Generate streams on `stub`.
RunResult RunLoad(v1::Inference::Stub& stub, const std::vector<v1::GenerateRequest>& requests,
                  const LoadOptions& options);

// Release times (seconds after the start) of `count` requests under `options`.
std::vector<double> ArrivalOffsets(size_t count, const LoadOptions& options);

}  // namespace attnserve::bench

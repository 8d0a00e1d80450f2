// RunLoad (see load_driver.h).
#include "clients/bench/load_driver.h"

#include <cmath>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "clients/bench/generate_call.h"

namespace attnserve::bench {

std::vector<double> ArrivalOffsets(size_t count, const LoadOptions& options) {
  std::vector<double> offsets(count, 0.0);
  if (!std::isfinite(options.request_rate) || options.request_rate <= 0) return offsets;
  std::mt19937_64 rng(options.seed);
  std::exponential_distribution<double> gap(options.request_rate);
  double t = 0;
  for (size_t i = 0; i < count; ++i) {
    offsets[i] = t;  // the first request goes at once, as in vLLM
    t += gap(rng);
  }
  return offsets;
}

RunResult RunLoad(v1::Inference::Stub& stub, const std::vector<v1::GenerateRequest>& requests,
                  const LoadOptions& options) {
  return RunLoad(
      [&](const v1::GenerateRequest& request, RequestRecord* record, std::function<void()> on_done) {
        GenerateCall::Start(stub, request, options.timeout, record, std::move(on_done));
      },
      requests, options);
}

RunResult RunLoad(const CallStarter& start, const std::vector<v1::GenerateRequest>& requests,
                  const LoadOptions& options) {
  RunResult result;
  result.records.resize(requests.size());
  const std::vector<double> offsets = ArrivalOffsets(requests.size(), options);

  std::mutex mu;
  std::condition_variable cv;
  size_t in_flight = 0;
  size_t finished = 0;
  auto on_done = [&] {
    std::lock_guard<std::mutex> lock(mu);
    --in_flight;
    ++finished;
    cv.notify_all();
  };

  result.start = Clock::now();
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto release = result.start + std::chrono::duration_cast<Clock::duration>(
                                            std::chrono::duration<double>(offsets[i]));
    std::this_thread::sleep_until(release);
    RequestRecord& record = result.records[i];
    record.scheduled = release;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock,
              [&] { return options.max_concurrency == 0 || in_flight < options.max_concurrency; });
      ++in_flight;
    }
    start(requests[i], &record, on_done);
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return finished == requests.size(); });
  result.end = result.start;
  for (const RequestRecord& record : result.records) result.end = std::max(result.end, record.done);
  return result;
}

}  // namespace attnserve::bench

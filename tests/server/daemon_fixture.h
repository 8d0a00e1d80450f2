// Fixtures for the end-to-end tests:
// * DaemonTest: a gtest fixture sharing one real attnserve daemon per test suite (started in
//   SetUpTestSuite on free ports with the default model, ATTNSERVE_TEST_MODEL_DIR, default flags);
// * StartedDaemon: a daemon of a test's own, with extra flags (admission limits, small KV pools,
//   drain) — for settings the shared one lacks and for tests that stop it;
// plus the request builders the tests share.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "attnserve/v1/inference.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/daemon_process.h"
#include "tests/server/test_client.h"

namespace attnserve::testing {

// The model the daemon serves by default.
std::string DefaultModelDir();

// How long the tests wait for the daemon to settle (idle after a cancel, NOT_SERVING, ...).
inline constexpr auto kSettleTimeout = std::chrono::milliseconds(5000);

// Nothing running or waiting and every KV block free.
inline bool IsIdle(const v1::ServerStatus& s) {
  return s.num_requests_running() == 0 && s.num_requests_waiting() == 0 &&
         s.kv_blocks_free() == s.kv_blocks_total();
}

// Greedy, ignore_eos, `max_tokens` tokens from a text prompt.
v1::GenerateRequest GreedyRequest(const std::string& prompt, uint32_t max_tokens);
// Greedy generation that runs to the end of the context (seconds of work: for deadline, cancel,
// queueing and drain tests).
v1::GenerateRequest LongRequest(const v1::ModelInfo& info);

// Greedy generation that cannot end on its own within any test's time: ~1M tokens (the whole
// context of an attention-free model) on a daemon started by StartedDaemon::StartEndless. For deadline, cancel and drain tests that must see the
// request still running.
v1::GenerateRequest EndlessRequest();

// A running daemon on the default model with a channel, stub and its ModelInfo.
struct StartedDaemon {
  DaemonProcess process;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Inference::Stub> stub;
  v1::ModelInfo info;

  // Starts one with `extra_args` (e.g. {"--max_num_seqs=1"}); null with *error set on failure.
  static std::unique_ptr<StartedDaemon> Start(const std::vector<std::string>& extra_args,
                                              std::string* error);
  // One serving tests/golden/models/mamba_tiny (context 2^20 positions), for EndlessRequest.
  static std::unique_ptr<StartedDaemon> StartEndless(const std::vector<std::string>& extra_args,
                                                     std::string* error);
  std::string MetricsText() const { return HttpGet(process.metrics_port(), "/metrics"); }
};

class DaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;  // fails the test when the daemon did not start

  static DaemonProcess& daemon();
  static const std::shared_ptr<grpc::Channel>& channel();
  static v1::Inference::Stub& stub();
  static const v1::ModelInfo& model_info();  // fetched once after start-up

  static v1::GenerateRequest GreedyRequest(const std::string& prompt, uint32_t max_tokens) {
    return testing::GreedyRequest(prompt, max_tokens);
  }
  static v1::GenerateRequest LongRequest() { return testing::LongRequest(model_info()); }

  // The daemon still answers health SERVING and a small greedy Generate succeeds.
  static void ExpectStillServing();
  static std::string MetricsText() { return HttpGet(daemon().metrics_port(), "/metrics"); }
};

}  // namespace attnserve::testing

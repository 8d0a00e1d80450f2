// DaemonTest: gtest fixture sharing one real attnserve daemon per test suite (started in
// SetUpTestSuite on free ports with the default model, ATTNSERVE_DEFAULT_MODEL_DIR), plus request
// builders the end-to-end tests share.
#pragma once

#include <memory>
#include <string>

#include "attnserve/v1/inference.grpc.pb.h"
#include "gtest/gtest.h"
#include "tests/server/daemon_process.h"
#include "tests/server/test_client.h"

namespace attnserve::testing {

class DaemonTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;  // fails the test when the daemon did not start

  static DaemonProcess& daemon();
  static const std::shared_ptr<grpc::Channel>& channel();
  static v1::Inference::Stub& stub();
  static const v1::ModelInfo& model_info();  // fetched once after start-up

  // Greedy, ignore_eos, `max_tokens` tokens from a text prompt.
  static v1::GenerateRequest GreedyRequest(const std::string& prompt, uint32_t max_tokens);
  // Generation that runs to the end of the context (for deadline / cancel tests).
  static v1::GenerateRequest LongRequest();

  // The daemon still answers health SERVING and a small greedy Generate succeeds.
  static void ExpectStillServing();
  static std::string MetricsText() { return HttpGet(daemon().metrics_port(), "/metrics"); }
};

// The model the daemon serves by default.
std::string DefaultModelDir();

}  // namespace attnserve::testing

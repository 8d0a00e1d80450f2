// DaemonTest fixture (see daemon_fixture.h).
#include "tests/server/daemon_fixture.h"

#ifndef ATTNSERVE_DEFAULT_MODEL_DIR
#error "ATTNSERVE_DEFAULT_MODEL_DIR must name the default model directory"
#endif

namespace attnserve::testing {
namespace {

struct Shared {
  std::unique_ptr<DaemonProcess> daemon;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::Inference::Stub> stub;
  v1::ModelInfo info;
  std::string start_error;
};

Shared& shared() {
  static Shared s;
  return s;
}

constexpr auto kStartTimeout = std::chrono::seconds(120);  // model load on a busy 2-core box

}  // namespace

std::string DefaultModelDir() { return ATTNSERVE_DEFAULT_MODEL_DIR; }

void DaemonTest::SetUpTestSuite() {
  Shared& s = shared();
  s.daemon = std::make_unique<DaemonProcess>();
  s.start_error.clear();
  if (!s.daemon->Start(DefaultModelDir(), {}, kStartTimeout, &s.start_error)) return;
  s.channel = MakeChannel(s.daemon->address());
  s.stub = v1::Inference::NewStub(s.channel);
  grpc::ClientContext context;
  const grpc::Status status = s.stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &s.info);
  if (!status.ok()) s.start_error = "GetModelInfo failed: " + status.error_message();
}

void DaemonTest::TearDownTestSuite() {
  Shared& s = shared();
  s.stub.reset();
  s.channel.reset();
  if (s.daemon != nullptr && s.daemon->running()) {
    const ExitResult exit = s.daemon->Stop(std::chrono::seconds(20));
    EXPECT_TRUE(exit.exited && exit.exit_code == 0)
        << "daemon did not shut down cleanly on SIGTERM:\n" << exit.stderr_text;
  }
  s.daemon.reset();
}

void DaemonTest::SetUp() {
  ASSERT_TRUE(shared().start_error.empty()) << shared().start_error;
  ASSERT_TRUE(shared().daemon != nullptr && shared().daemon->running());
}

DaemonProcess& DaemonTest::daemon() { return *shared().daemon; }
const std::shared_ptr<grpc::Channel>& DaemonTest::channel() { return shared().channel; }
v1::Inference::Stub& DaemonTest::stub() { return *shared().stub; }
const v1::ModelInfo& DaemonTest::model_info() { return shared().info; }

v1::GenerateRequest DaemonTest::GreedyRequest(const std::string& prompt, uint32_t max_tokens) {
  v1::GenerateRequest request;
  request.set_prompt(prompt);
  request.set_max_tokens(max_tokens);
  request.set_ignore_eos(true);
  request.mutable_sampling()->set_temperature(0);
  return request;
}

v1::GenerateRequest DaemonTest::LongRequest() {
  v1::GenerateRequest request;
  request.add_prompt_token_ids(model_info().bos_token_id() >= 0 ? model_info().bos_token_id() : 1);
  request.add_prompt_token_ids(5);
  request.set_max_tokens(model_info().max_context() - 2);
  request.set_ignore_eos(true);
  return request;
}

void DaemonTest::ExpectStillServing() {
  EXPECT_EQ(HealthStatus(channel(), "attnserve.v1.Inference"), "SERVING");
  const GenerateResult result = Generate(stub(), GreedyRequest("Hello", 3));
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.AllTokenIds().size(), 3u);
}

}  // namespace attnserve::testing

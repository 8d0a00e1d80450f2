// DaemonTest fixture and StartedDaemon (see daemon_fixture.h).
#include "tests/server/daemon_fixture.h"

#ifndef ATTNSERVE_TEST_MODEL_DIR
#error "ATTNSERVE_TEST_MODEL_DIR must name the default model directory"
#endif

namespace attnserve::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(120);  // model load on a busy 2-core box

struct Shared {
  std::unique_ptr<StartedDaemon> daemon;
  std::string start_error;
};

Shared& shared() {
  static Shared s;
  return s;
}

}  // namespace

std::string DefaultModelDir() { return ATTNSERVE_TEST_MODEL_DIR; }

v1::GenerateRequest GreedyRequest(const std::string& prompt, uint32_t max_tokens) {
  v1::GenerateRequest request;
  request.set_prompt(prompt);
  request.set_max_tokens(max_tokens);
  request.set_ignore_eos(true);
  request.mutable_sampling()->set_temperature(0);
  return request;
}

v1::GenerateRequest LongRequest(const v1::ModelInfo& info) {
  v1::GenerateRequest request;
  request.add_prompt_token_ids(info.bos_token_id() >= 0 ? info.bos_token_id() : 1);
  request.add_prompt_token_ids(5);
  request.set_max_tokens(info.max_context() - 2);
  request.set_ignore_eos(true);
  request.mutable_sampling()->set_temperature(0);
  return request;
}

// An attention-free model's whole context (ModelConfig kUnboundedContext = 2^20 positions):
// ~1M greedy tokens. The tiny Mamba makes ~25k tokens/s alone on one of these 2-core machines
// (measured: 75k tokens in 3 s), so the request runs ~40 s: forty times the longest deadline or
// drain (1 s) that the tests using it set.
constexpr uint32_t kEndlessContext = uint32_t{1} << 20;

v1::GenerateRequest EndlessRequest() {
  v1::GenerateRequest request;
  request.add_prompt_token_ids(1);
  request.add_prompt_token_ids(5);
  request.set_max_tokens(kEndlessContext - 2);
  request.set_ignore_eos(true);
  request.mutable_sampling()->set_temperature(0);
  return request;
}

namespace {

std::unique_ptr<StartedDaemon> StartOn(const std::string& model_dir, const std::vector<std::string>& extra_args,
                                       std::string* error) {
  auto d = std::make_unique<StartedDaemon>();
  if (!d->process.Start(model_dir, extra_args, kStartTimeout, error)) return nullptr;
  d->channel = MakeChannel(d->process.address());
  d->stub = v1::Inference::NewStub(d->channel);
  grpc::ClientContext context;
  const grpc::Status status = d->stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &d->info);
  if (!status.ok()) {
    *error = "GetModelInfo failed: " + status.error_message();
    return nullptr;
  }
  return d;
}

}  // namespace

std::unique_ptr<StartedDaemon> StartedDaemon::Start(const std::vector<std::string>& extra_args,
                                                    std::string* error) {
  return StartOn(DefaultModelDir(), extra_args, error);
}

std::unique_ptr<StartedDaemon> StartedDaemon::StartEndless(const std::vector<std::string>& extra_args,
                                                           std::string* error) {
  return StartOn(std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/mamba_tiny", extra_args, error);
}

void DaemonTest::SetUpTestSuite() {
  Shared& s = shared();
  s.start_error.clear();
  s.daemon = StartedDaemon::Start({}, &s.start_error);
}

void DaemonTest::TearDownTestSuite() {
  Shared& s = shared();
  if (s.daemon != nullptr && s.daemon->process.running()) {
    const ExitResult exit = s.daemon->process.Stop(std::chrono::seconds(20));
    EXPECT_TRUE(exit.exited && exit.exit_code == 0)
        << "daemon did not shut down cleanly on SIGTERM:\n" << exit.stderr_text;
  }
  s.daemon.reset();
}

void DaemonTest::SetUp() {
  ASSERT_TRUE(shared().start_error.empty()) << shared().start_error;
  ASSERT_TRUE(shared().daemon != nullptr && shared().daemon->process.running());
}

DaemonProcess& DaemonTest::daemon() { return shared().daemon->process; }
const std::shared_ptr<grpc::Channel>& DaemonTest::channel() { return shared().daemon->channel; }
v1::Inference::Stub& DaemonTest::stub() { return *shared().daemon->stub; }
const v1::ModelInfo& DaemonTest::model_info() { return shared().daemon->info; }

void DaemonTest::ExpectStillServing() {
  EXPECT_EQ(HealthStatus(channel(), "attnserve.v1.Inference"), "SERVING");
  const GenerateResult result = Generate(stub(), GreedyRequest("Hello", 3));
  EXPECT_TRUE(result.status.ok()) << result.status.error_message();
  EXPECT_EQ(result.AllTokenIds().size(), 3u);
}

}  // namespace attnserve::testing

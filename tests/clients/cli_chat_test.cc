// attnserve-cli chat end to end: the real CLI binary against the real daemon serving the test model
// with a ChatML template (--chat_template). Replies are compared with direct GenerateRequest.messages
// calls on the same conversation (greedy), so a CLI that drops or garbles history fails; also
// /reset, /exit, one-shot, --messages_file, server errors (exit 1 with the status) and Ctrl-C.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/server/daemon_process.h"
#include "tests/server/test_client.h"

#ifndef ATTNSERVE_CLI_BINARY
#error "ATTNSERVE_CLI_BINARY must point at the attnserve-cli executable"
#endif

namespace attnserve::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string TempPath(const std::string& suffix) {
  static int counter = 0;
  return (std::filesystem::temp_directory_path() /
          ("attnserve-cli-chat-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + suffix))
      .string();
}

struct CliRun {
  int exit_code = -1;  // -1: killed or signalled
  std::string out;
  std::string err;
};

// A running attnserve-cli with stdin on a pipe and stdout/stderr in files.
class CliProcess {
 public:
  explicit CliProcess(std::vector<std::string> args)
      : out_path_(TempPath(".out")), err_path_(TempPath(".err")) {
    args.insert(args.begin(), ATTNSERVE_CLI_BINARY);
    std::vector<char*> argv;
    for (std::string& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[0], STDIN_FILENO);
      close(fds[0]);
      close(fds[1]);
      dup2(open(out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), STDOUT_FILENO);
      dup2(open(err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644), STDERR_FILENO);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(fds[0]);
    stdin_fd_ = fds[1];
  }
  ~CliProcess() {
    CloseStdin();
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    std::remove(out_path_.c_str());
    std::remove(err_path_.c_str());
  }

  void Write(const std::string& text) {
    ASSERT_EQ(write(stdin_fd_, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  }
  void CloseStdin() {
    if (stdin_fd_ >= 0) close(stdin_fd_);
    stdin_fd_ = -1;
  }
  void Signal(int sig) { kill(pid_, sig); }
  std::string Out() const { return ReadAll(out_path_); }
  std::string Err() const { return ReadAll(err_path_); }
  bool running() const { return pid_ > 0; }

  // Waits (up to `timeout`) until `pred` holds.
  template <typename Pred>
  bool WaitUntil(Pred pred, milliseconds timeout) {
    for (auto end = std::chrono::steady_clock::now() + timeout; std::chrono::steady_clock::now() < end;) {
      if (pred()) return true;
      std::this_thread::sleep_for(milliseconds(5));
    }
    return pred();
  }

  // Waits for the exit (SIGKILL after `timeout`).
  CliRun Wait(seconds timeout) {
    CliRun run;
    int status = 0;
    bool exited = WaitUntil([&] { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!exited) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
    }
    pid_ = -1;
    run.exit_code = exited && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    run.out = Out();
    run.err = Err();
    return run;
  }

 private:
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::string out_path_;
  std::string err_path_;
};

CliRun RunCli(const std::vector<std::string>& args, const std::string& stdin_text) {
  CliProcess cli(args);
  if (!stdin_text.empty()) cli.Write(stdin_text);
  cli.CloseStdin();
  return cli.Wait(seconds(120));
}

v1::ChatMessage Msg(const std::string& role, const std::string& content) {
  v1::ChatMessage m;
  m.set_role(role);
  m.set_content(content);
  return m;
}

constexpr uint32_t kMaxTokens = 8;

class CliChatTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    daemon_ = new DaemonProcess();
    std::string error;
    if (!daemon_->Start(ATTNSERVE_TEST_MODEL_DIR,
                        {std::string("--chat_template=") + ATTNSERVE_CHATML_TEMPLATE}, seconds(120),
                        &error)) {
      start_error_ = new std::string(error);
      return;
    }
    stub_ = v1::Inference::NewStub(MakeChannel(daemon_->address())).release();
  }
  static void TearDownTestSuite() {
    delete stub_;
    delete daemon_;
    delete start_error_;
    stub_ = nullptr;
    daemon_ = nullptr;
    start_error_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
  }

  // The greedy reply to `messages` by a direct Generate call.
  static GenerateResult Direct(const std::vector<v1::ChatMessage>& messages) {
    v1::GenerateRequest request;
    for (const auto& m : messages) *request.add_messages() = m;
    request.set_add_generation_prompt(true);
    request.set_max_tokens(kMaxTokens);
    request.mutable_sampling()->set_temperature(0);
    return Generate(*stub_, request);
  }
  static std::string DirectText(const std::vector<v1::ChatMessage>& messages) {
    const GenerateResult r = Direct(messages);
    EXPECT_TRUE(r.status.ok()) << r.status.error_message();
    return r.AllText();
  }
  static std::vector<std::string> ChatArgs(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"chat", "--addr=" + daemon_->address(), "--temperature=0",
                                     "--max_tokens=" + std::to_string(kMaxTokens)};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  static DaemonProcess* daemon_;
  static v1::Inference::Stub* stub_;
  static std::string* start_error_;
};

DaemonProcess* CliChatTest::daemon_ = nullptr;
v1::Inference::Stub* CliChatTest::stub_ = nullptr;
std::string* CliChatTest::start_error_ = nullptr;

std::string PromptTokens(const GenerateResult& r) {
  return "prompt_tokens=" + std::to_string(r.Last().usage().prompt_tokens()) + " ";
}

TEST_F(CliChatTest, SecondTurnCarriesTheFirstReply) {
  const CliRun run = RunCli(ChatArgs(), "Hello there\n\n   \nHow are you\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string r1 = DirectText({Msg("user", "Hello there")});
  const std::vector<v1::ChatMessage> turn2 = {Msg("user", "Hello there"), Msg("assistant", r1),
                                              Msg("user", "How are you")};
  const GenerateResult direct2 = Direct(turn2);
  ASSERT_TRUE(direct2.status.ok());
  // Empty lines are no turns; two replies, each ended by a newline.
  EXPECT_EQ(run.out, r1 + "\n" + direct2.AllText() + "\n");
  // The server saw the whole conversation on turn 2, not the last question alone.
  const GenerateResult alone = Direct({Msg("user", "How are you")});
  ASSERT_TRUE(alone.status.ok());
  EXPECT_NE(PromptTokens(direct2), PromptTokens(alone));
  const size_t second_stats = run.err.find("prompt_tokens=", run.err.find("prompt_tokens=") + 1);
  ASSERT_NE(second_stats, std::string::npos) << run.err;
  EXPECT_EQ(run.err.compare(second_stats, PromptTokens(direct2).size(), PromptTokens(direct2)), 0)
      << run.err;
  // No prompt on stderr when stdin is not a terminal.
  EXPECT_EQ(run.err.find("> "), std::string::npos) << run.err;
}

TEST_F(CliChatTest, ResetKeepsTheSystemMessageAndExitStops) {
  const CliRun run =
      RunCli(ChatArgs({"--system=You are terse."}), "Hi\n/reset\nHi\n/exit\nNever sent\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string r = DirectText({Msg("system", "You are terse."), Msg("user", "Hi")});
  EXPECT_EQ(run.out, r + "\n" + r + "\n");
  size_t stats = 0;  // one stats line per reply: "Never sent" after /exit got none
  for (size_t at = 0; (at = run.err.find("prompt_tokens=", at)) != std::string::npos; ++at) ++stats;
  EXPECT_EQ(stats, 2u) << run.err;
}

TEST_F(CliChatTest, OneShotQuestionAndMessagesFile) {
  const CliRun run = RunCli(ChatArgs({"What is two plus two?"}), "ignored\n");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, DirectText({Msg("user", "What is two plus two?")}) + "\n");
  EXPECT_NE(run.err.find("prompt_tokens="), std::string::npos) << run.err;

  const std::string path = TempPath(".json");
  std::ofstream(path) << R"([{"role": "system", "content": "Be brief."},
    {"role": "user", "content": [{"type": "text", "text": "Name a"}, {"type": "text", "text": "colour"}]},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "Another"}])";
  const CliRun file_run = RunCli(ChatArgs({"--messages_file=" + path}), "");
  std::remove(path.c_str());
  ASSERT_EQ(file_run.exit_code, 0) << file_run.err;
  EXPECT_EQ(file_run.out, DirectText({Msg("system", "Be brief."), Msg("user", "Name a\ncolour"),
                                      Msg("assistant", "Blue."), Msg("user", "Another")}) +
                              "\n");

  const std::string bad = TempPath(".json");
  std::ofstream(bad) << R"([{"role": "user", "content": 7}])";
  const CliRun bad_run = RunCli(ChatArgs({"--messages_file=" + bad}), "");
  std::remove(bad.c_str());
  EXPECT_EQ(bad_run.exit_code, 1);
  EXPECT_NE(bad_run.err.find("messages[0].content"), std::string::npos) << bad_run.err;
}

TEST_F(CliChatTest, ServerErrorsPrintTheStatusAndExitOne) {
  // A role the template rendering refuses: INVALID_ARGUMENT naming messages[0].
  const std::string path = TempPath(".json");
  std::ofstream(path) << R"([{"role": "robot", "content": "beep"}])";
  const CliRun invalid = RunCli(ChatArgs({"--messages_file=" + path}), "");
  std::remove(path.c_str());
  EXPECT_EQ(invalid.exit_code, 1);
  EXPECT_NE(invalid.err.find("attnserve-cli: INVALID_ARGUMENT: "), std::string::npos) << invalid.err;
  EXPECT_NE(invalid.err.find("messages[0]"), std::string::npos) << invalid.err;

  // A model without a chat template: FAILED_PRECONDITION, one-shot and interactive.
  DaemonProcess plain;
  std::string error;
  ASSERT_TRUE(plain.Start(ATTNSERVE_TEST_MODEL_DIR, {}, seconds(120), &error)) << error;
  const std::vector<std::string> args = {"chat", "--addr=" + plain.address(), "--temperature=0"};
  std::vector<std::string> one_shot = args;
  one_shot.push_back("Hi");
  const CliRun run = RunCli(one_shot, "");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("attnserve-cli: FAILED_PRECONDITION: "), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("chat template"), std::string::npos) << run.err;
  const CliRun interactive = RunCli(args, "Hi\nHi again\n");
  EXPECT_EQ(interactive.exit_code, 1);
  size_t n = 0;
  for (size_t at = 0; (at = interactive.err.find("FAILED_PRECONDITION", at)) != std::string::npos; ++at) ++n;
  EXPECT_EQ(n, 2u) << interactive.err;  // both turns answered with the error, none fatal
}

TEST_F(CliChatTest, CtrlCCancelsTheReplyAndReturnsToThePrompt) {
  // A reply that cannot end before the SIGINT: ~1M tokens of the tiny Mamba (its whole context,
  // ~40 s of work on these machines), on a daemon of its own serving it with the ChatML template.
  DaemonProcess endless;
  std::string error;
  ASSERT_TRUE(endless.Start(std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/mamba_tiny",
                            {std::string("--chat_template=") + ATTNSERVE_CHATML_TEMPLATE}, seconds(120), &error))
      << error;
  auto endless_stub = v1::Inference::NewStub(MakeChannel(endless.address()));
  CliProcess cli({"chat", "--addr=" + endless.address(), "--temperature=0", "--ignore_eos",
                  "--max_tokens=1000000"});
  cli.Write("Tell me everything\n");
  ASSERT_TRUE(cli.WaitUntil([&] { return !cli.Out().empty(); }, milliseconds(60000)));
  cli.Signal(SIGINT);
  ASSERT_TRUE(cli.WaitUntil([&] { return cli.Err().find("[cancelled]") != std::string::npos; },
                            milliseconds(10000)))
      << cli.Err();
  // Still alive at the prompt: the next turn is answered.
  cli.Write("/exit\n");
  const CliRun run = cli.Wait(seconds(30));
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err.find("completion_tokens=1000000"), std::string::npos) << run.err;
  // The server finished the cancelled request (nothing left running).
  v1::ServerStatus status;
  EXPECT_TRUE(WaitForServerStatus(
      *endless_stub, [](const v1::ServerStatus& s) { return s.num_requests_running() == 0; },
      milliseconds(10000), &status));

  // Ctrl-C at the prompt ends the program.
  CliProcess idle({"chat", "--addr=" + daemon_->address()});
  std::this_thread::sleep_for(milliseconds(1000));
  idle.Signal(SIGINT);
  const CliRun idle_run = idle.Wait(seconds(10));
  EXPECT_EQ(idle_run.exit_code, 0) << idle_run.err;
}

}  // namespace
}  // namespace attnserve::testing

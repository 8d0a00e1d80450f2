// Model files that change while the daemon serves them (issue 19's fault test). The daemon reads
// every weight file whole at load (engine/loader/mapped_file.h), so none of these may crash it or
// change what it answers: config.json and tokenizer.json overwritten, the safetensors file
// overwritten in place with other bytes (what `cp new old` does), truncated to half and to zero
// (a mapped file would SIGBUS here), atomically replaced by rename, the directory removed; and a
// GGUF file truncated and overwritten. Four client threads keep generating throughout; every one
// of their requests and a probe after each change must give the greedy tokens of before.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kClientThreads = 4;
constexpr int kRequestsPerChange = 8;  // background requests that must end after each change

std::string MakeTempDir() {
  std::string pattern = (fs::temp_directory_path() / "attnserve-changing-XXXXXX").string();
  EXPECT_NE(mkdtemp(pattern.data()), nullptr);
  return pattern;
}

// Rewrites `path` in place, as `cp` does: same inode, O_TRUNC, then the new bytes.
void OverwriteInPlace(const fs::path& path, const std::string& bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  close(fd);
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// Greedy generations of one request from kClientThreads threads until Stop(); each result is
// compared with the tokens the daemon gave before any change.
class BackgroundLoad {
 public:
  BackgroundLoad(v1::Inference::Stub& stub, v1::GenerateRequest request, std::vector<int32_t> expected)
      : stub_(stub), request_(std::move(request)), expected_(std::move(expected)) {
    for (int i = 0; i < kClientThreads; ++i) {
      threads_.emplace_back([this] {
        while (!stop_) {
          const GenerateResult result = Generate(stub_, request_, std::chrono::milliseconds(60000));
          std::lock_guard<std::mutex> lock(mu_);
          ++ended_;
          if (!result.status.ok()) {
            failures_.push_back(std::to_string(result.status.error_code()) + ": " +
                                result.status.error_message());
          } else if (result.AllTokenIds() != expected_) {
            failures_.push_back("OK with other tokens than before the change");
          }
        }
      });
    }
  }
  ~BackgroundLoad() { Stop(); }

  // Waits until `n` more requests have ended (or 60 s passed); false on the timeout.
  bool WaitForMore(int n) {
    int64_t target;
    {
      std::lock_guard<std::mutex> lock(mu_);
      target = ended_ + n;
    }
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < end) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (ended_ >= target) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void Stop() {
    stop_ = true;
    for (std::thread& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<std::string> failures() {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }
  int64_t ended() {
    std::lock_guard<std::mutex> lock(mu_);
    return ended_;
  }

 private:
  v1::Inference::Stub& stub_;
  const v1::GenerateRequest request_;
  const std::vector<int32_t> expected_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  int64_t ended_ = 0;
  std::vector<std::string> failures_;
  std::vector<std::thread> threads_;
};

// Serves `model` (a directory or .gguf file in a temp dir), applies each change while four
// clients generate, and checks after each that the daemon answers health and the same tokens.
void ExpectServingThroughChanges(const std::string& model,
                                 const std::vector<std::pair<std::string, std::function<void()>>>& changes) {
  std::string error;
  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start(model, {}, std::chrono::seconds(120), &error)) << error;
  const std::shared_ptr<grpc::Channel> channel = MakeChannel(daemon.address());
  auto stub = v1::Inference::NewStub(channel);
  v1::GenerateRequest request;
  for (int32_t id : {1, 5, 9, 13, 17}) request.add_prompt_token_ids(id);
  request.set_max_tokens(24);
  request.set_ignore_eos(true);
  request.mutable_sampling()->set_temperature(0);
  const GenerateResult reference = Generate(*stub, request);
  ASSERT_TRUE(reference.status.ok()) << reference.status.error_message();
  ASSERT_EQ(reference.AllTokenIds().size(), 24u);

  BackgroundLoad load(*stub, request, reference.AllTokenIds());
  for (const auto& [name, change] : changes) {
    SCOPED_TRACE("after: " + name);
    change();
    const bool answered = load.WaitForMore(kRequestsPerChange);
    const std::string health = HealthStatus(channel, "attnserve.v1.Inference");
    if (!answered || health != "SERVING") {
      load.Stop();
      const ExitResult exit = daemon.WaitForExit(std::chrono::seconds(1));
      FAIL() << "the daemon stopped serving (health " << health << "; "
             << (exit.exited ? "exited, code " + std::to_string(exit.exit_code) + ", signal " +
                                   std::to_string(exit.signal)
                             : std::string("still running"))
             << "):\n" << exit.stderr_text;
    }
    const GenerateResult probe = Generate(*stub, request);
    EXPECT_TRUE(probe.status.ok()) << probe.status.error_message();
    EXPECT_EQ(probe.AllTokenIds(), reference.AllTokenIds());
  }
  load.Stop();
  const std::vector<std::string> failures = load.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " of " << load.ended()
                                << " background requests failed, e.g. " << failures.front();
  const ExitResult exit = daemon.Stop(std::chrono::seconds(30));
  EXPECT_TRUE(exit.exited);
  EXPECT_EQ(exit.signal, 0) << "the daemon died of signal " << exit.signal << ":\n" << exit.stderr_text;
  EXPECT_EQ(exit.exit_code, 0) << exit.stderr_text;
}

TEST(ModelFilesChangeTest, HuggingFaceDirectoryRewrittenTruncatedReplacedAndRemoved) {
  const fs::path dir = MakeTempDir();
  fs::copy(DefaultModelDir(), dir, fs::copy_options::recursive);
  const fs::path weights = dir / "model.safetensors";
  const size_t weight_bytes = fs::file_size(weights);
  ExpectServingThroughChanges(dir.string(), {
      {"config.json overwritten in place", [&] { OverwriteInPlace(dir / "config.json", "{ not json"); }},
      {"tokenizer.json truncated to 0", [&] { fs::resize_file(dir / "tokenizer.json", 0); }},
      {"model.safetensors overwritten in place with other bytes (cp)",
       [&] { OverwriteInPlace(weights, RandomBytes(weight_bytes, 1)); }},
      {"model.safetensors truncated to half", [&] { fs::resize_file(weights, weight_bytes / 2); }},
      {"model.safetensors truncated to 0", [&] { fs::resize_file(weights, 0); }},
      {"model.safetensors replaced by rename", [&] {
         std::ofstream(dir / "new.safetensors", std::ios::binary) << RandomBytes(weight_bytes, 2);
         fs::rename(dir / "new.safetensors", weights);
       }},
      {"the model directory removed", [&] { fs::remove_all(dir); }},
  });
  fs::remove_all(dir);
}

TEST(ModelFilesChangeTest, GgufFileTruncatedAndOverwritten) {
  const fs::path dir = MakeTempDir();
  // f32 tensors: used in place (no converted copy), so every byte of the file is live weights.
  const fs::path gguf = dir / "llama_gqa_f32.gguf";
  fs::copy_file(fs::path(ATTNSERVE_GOLDEN_MODELS_DIR).parent_path() / "gguf_models" / "llama_gqa_f32.gguf",
                gguf);
  const size_t bytes = fs::file_size(gguf);
  ExpectServingThroughChanges(gguf.string(), {
      {"truncated to 0", [&] { fs::resize_file(gguf, 0); }},
      {"overwritten in place with other bytes (cp)", [&] { OverwriteInPlace(gguf, RandomBytes(bytes, 3)); }},
  });
  fs::remove_all(dir);
}

}  // namespace
}  // namespace attnserve::testing

// Helpers for engine tests: golden-data loading and a blocking Generate through the Engine.
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "engine/runtime/engine.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace attnserve::testing {

inline nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Every golden model directory (tests/golden/models/*/golden.json).
inline std::vector<std::string> GoldenModelDirs() {
  std::vector<std::string> dirs;
  for (const auto& e : std::filesystem::directory_iterator(ATTNSERVE_GOLDEN_MODELS_DIR))
    if (std::filesystem::exists(e.path() / "golden.json")) dirs.push_back(e.path().string());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// Collects a request's deltas; Wait() blocks until the final one.
class CollectingSink : public GenerateSink {
 public:
  void OnDelta(GenerateDelta delta) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (int32_t id : delta.token_ids) token_ids.push_back(id);
    text += delta.text;
    deltas.push_back(delta);
    if (delta.finish != FinishReason::kNone) done_.set_value();
  }
  void Wait() { done_future_.wait(); }
  size_t token_ids_size() {
    std::lock_guard<std::mutex> lock(mu_);
    return token_ids.size();
  }
  bool WaitFor(std::chrono::milliseconds d) {
    return done_future_.wait_for(d) == std::future_status::ready;
  }
  std::vector<int32_t> token_ids;
  std::string text;
  std::vector<GenerateDelta> deltas;

 private:
  std::mutex mu_;
  std::promise<void> done_;
  std::future<void> done_future_ = done_.get_future();
};

// Also records the most KV blocks in use seen at any delta.
class BlockWatchingSink : public CollectingSink {
 public:
  explicit BlockWatchingSink(const Engine& engine) : engine_(engine) {}
  void OnDelta(GenerateDelta delta) override {
    max_blocks_used = std::max(max_blocks_used, engine_.CurrentStatus().kv_blocks_used);
    CollectingSink::OnDelta(std::move(delta));
  }
  int64_t max_blocks_used = 0;

 private:
  const Engine& engine_;
};

// The engine's status once it has published a snapshot with nothing running or waiting (the
// snapshot is taken after each step, so it can trail the requests' last deltas briefly).
inline Engine::Status_ SettledStatus(const Engine& engine) {
  Engine::Status_ s = engine.CurrentStatus();
  for (int i = 0; i < 400 && (s.num_running != 0 || s.num_waiting != 0 || !engine.Idle()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    s = engine.CurrentStatus();
  }
  return s;
}

// An engine on `options.model_dir` (default: the embedded model), loaded or the test fails.
inline std::unique_ptr<Engine> MakeEngine(EngineOptions options) {
  if (options.model_dir.empty()) options.model_dir = ATTNSERVE_TEST_MODEL_DIR;
  auto engine = Engine::Load(options);
  EXPECT_TRUE(engine.ok()) << engine.status();
  return engine.ok() ? std::move(*engine) : nullptr;
}

// n token ids in [2, 1002), reproducible from `seed`.
inline std::vector<int32_t> RandomPrompt(int n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<int32_t> ids(n);
  for (int32_t& t : ids) t = static_cast<int32_t>(gen() % 1000) + 2;
  return ids;
}

inline GenerateSpec GreedySpec(const std::string& id, std::vector<int32_t> prompt, uint32_t n) {
  GenerateSpec spec;
  spec.request_id = id;
  spec.prompt_token_ids = std::move(prompt);
  spec.max_tokens = n;
  spec.sampling.temperature = 0.0f;
  spec.ignore_eos = true;
  return spec;
}

}  // namespace attnserve::testing

// Shared pieces of the HTTP-library SSE benchmark (bench/http_library): flag
// parsing, the SSE event format, and FakeEngine — one "engine" thread that emits a
// token event per stream every interval_ms, like a decode step, and hands it to
// the server through a StreamSink (the same shape the real server will have).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <vector>

namespace sse_bench {

inline int64_t now_ns() {
  // steady_clock is CLOCK_MONOTONIC on Linux: comparable across processes.
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// --name=value or --name value; returns fallback if absent.
inline std::string flag(int argc, char** argv, const char* name, const char* fallback) {
  const std::string key = std::string("--") + name;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == key && i + 1 < argc) return argv[i + 1];
    if (arg.rfind(key + "=", 0) == 0) return arg.substr(key.size() + 1);
  }
  return fallback;
}
inline long flag_int(int argc, char** argv, const char* name, long fallback) {
  return std::atol(flag(argc, argv, name, std::to_string(fallback).c_str()).c_str());
}

inline std::string format_event(int index, int64_t t_ns) {
  char buf[96];
  int n = std::snprintf(buf, sizeof buf, "data: {\"i\": %d, \"t\": %lld}\n\n", index,
                        static_cast<long long>(t_ns));
  return std::string(buf, n);
}
inline const char* done_event() { return "data: [DONE]\n\n"; }

// What the engine talks to. Called on the engine thread; must not block.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  virtual void on_event(int index, int64_t t_ns) = 0;
  virtual void on_done() = 0;
  virtual bool cancelled() const = 0;
};

// One thread; each stream gets event k at start + k*interval, then DONE. The
// event's t is that scheduled time, so client arrival - t = lateness.
class FakeEngine {
 public:
  FakeEngine(int events, int interval_ms) : events_(events), interval_ns_(interval_ms * 1000000LL) {
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeEngine() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }
  void submit(std::shared_ptr<StreamSink> sink) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      due_.push(Entry{now_ns(), 0, std::move(sink)});
    }
    cv_.notify_one();
  }

 private:
  struct Entry {
    int64_t due_ns;
    int next_index;
    std::shared_ptr<StreamSink> sink;
    bool operator>(const Entry& o) const { return due_ns > o.due_ns; }
  };

  void loop() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      if (due_.empty()) {
        cv_.wait(lock);
        continue;
      }
      const int64_t wait_ns = due_.top().due_ns - now_ns();
      if (wait_ns > 0) {
        cv_.wait_for(lock, std::chrono::nanoseconds(wait_ns));
        continue;
      }
      Entry entry = due_.top();
      due_.pop();
      if (entry.sink->cancelled()) {  // client went away: drop it (frees its "KV")
        std::fprintf(stderr, "engine: dropped cancelled stream before event %d at t=%lld\n",
                     entry.next_index, static_cast<long long>(now_ns()));
        continue;
      }
      if (entry.next_index < events_) {
        entry.sink->on_event(entry.next_index, entry.due_ns);  // t = scheduled time
        entry.next_index++;
        entry.due_ns += interval_ns_;
        due_.push(std::move(entry));
      } else {
        entry.sink->on_done();
      }
    }
  }

  const int events_;
  const int64_t interval_ns_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> due_;
  bool stop_ = false;
  std::thread thread_;
};

// Exits the process after seconds (0 = never), so every run stops by itself.
inline void exit_after(long seconds) {
  if (seconds <= 0) return;
  std::thread([seconds] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    std::fflush(stdout);
    std::_Exit(0);
  }).detach();
}

}  // namespace sse_bench

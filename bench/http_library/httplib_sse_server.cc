// cpp-httplib SSE server for the HTTP-library benchmark: POST /stream answers via
// set_chunked_content_provider; the provider runs on an httplib pool thread and
// blocks on a condition variable until the FakeEngine thread hands it events.
// --pool N replaces the default thread pool (0 keeps httplib's default).
#include <httplib.h>

#include <deque>
#include <iostream>

#include "sse_common.h"

namespace {

// Per-stream mailbox between the engine thread and the httplib worker thread.
class HttplibStream : public sse_bench::StreamSink {
 public:
  void on_event(int index, int64_t t_ns) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.emplace_back(index, t_ns);
    }
    cv_.notify_one();
  }
  void on_done() override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
  }
  bool cancelled() const override { return cancelled_.load(std::memory_order_relaxed); }
  void cancel() {
    cancelled_ = true;
    cv_.notify_one();
  }

  // The chunked content provider: httplib calls it in a loop until sink.done().
  bool pump(httplib::DataSink& sink) {
    std::deque<std::pair<int, int64_t>> batch;
    bool done = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return !events_.empty() || done_ || cancelled(); });
      batch.swap(events_);
      done = done_;
    }
    if (cancelled()) return false;
    std::string text;
    for (const auto& e : batch) text += sse_bench::format_event(e.first, e.second);
    if (done) text += sse_bench::done_event();
    if (!text.empty() && !sink.write(text.data(), text.size())) {
      cancel();  // write failed: the client went away mid-stream
      return false;
    }
    if (done) sink.done();
    return true;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<int, int64_t>> events_;
  bool done_ = false;
  std::atomic<bool> cancelled_{false};
};

// Debian's libcpp-httplib.so calls listen(fd, 5) (CPPHTTPLIB_LISTEN_BACKLOG is
// compiled in); Linux lets a second listen() on the bound socket raise it.
class BacklogServer : public httplib::Server {
 public:
  bool relisten(int backlog) { return ::listen(svr_sock_, backlog) == 0; }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace sse_bench;
  const int port = flag_int(argc, argv, "port", 18081);
  const long pool = flag_int(argc, argv, "pool", 0);
  const int events = flag_int(argc, argv, "events", 100);
  const int interval_ms = flag_int(argc, argv, "interval_ms", 20);
  const bool nodelay = flag_int(argc, argv, "nodelay", 1) != 0;
  const long keepalive_s = flag_int(argc, argv, "keepalive_s", 0);  // 0: library default (5 s)
  const long backlog = flag_int(argc, argv, "backlog", 0);          // 0: library default (5)
  exit_after(flag_int(argc, argv, "exit_after_s", 0));

  FakeEngine engine(events, interval_ms);
  BacklogServer server;
  if (pool > 0) {
    server.new_task_queue = [pool] { return new httplib::ThreadPool(pool); };
  }
  server.set_tcp_nodelay(nodelay);
  if (keepalive_s > 0) {
    server.set_keep_alive_timeout(keepalive_s);
    server.set_keep_alive_max_count(1000);
  }
  server.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  server.Post("/stream", [&engine](const httplib::Request&, httplib::Response& res) {
    auto stream = std::make_shared<HttplibStream>();
    engine.submit(stream);
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream](size_t /*offset*/, httplib::DataSink& sink) { return stream->pump(sink); },
        [stream](bool success) {
          if (!success) stream->cancel();
        });
  });
  std::cout << "httplib_sse_server listening on 127.0.0.1:" << port
            << " pool=" << (pool > 0 ? std::to_string(pool) : std::string("default"))
            << " keepalive_s=" << keepalive_s << " backlog=" << backlog << std::endl;
  if (!server.bind_to_port("127.0.0.1", port) || (backlog > 0 && !server.relisten(backlog))) {
    std::cerr << "bind/listen failed\n";
    return 1;
  }
  server.listen_after_bind();
}

// Boost.Beast SSE server for the HTTP-library benchmark: async, one io_context run
// by --threads threads; POST /stream gets token events from the FakeEngine thread
// via asio::post onto the session's strand and writes them as HTTP chunks;
// GET /health answers "ok". Keep-alive throughout.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <deque>
#include <iostream>

#include "sse_common.h"

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

bool g_nodelay = true;
sse_bench::FakeEngine* g_engine = nullptr;

class Session : public std::enable_shared_from_this<Session>, public sse_bench::StreamSink {
 public:
  explicit Session(tcp::socket socket) : stream_(std::move(socket)) {}

  void start() {
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(g_nodelay), ec);
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->do_read(); });
  }

  // --- StreamSink: called on the engine thread; only posts. ---
  void on_event(int index, int64_t t_ns) override {
    net::post(stream_.get_executor(), [self = shared_from_this(), index, t_ns] {
      self->enqueue(sse_bench::format_event(index, t_ns), false);
    });
  }
  void on_done() override {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->enqueue(sse_bench::done_event(), true);
    });
  }
  bool cancelled() const override { return cancelled_.load(std::memory_order_relaxed); }

 private:
  void do_read() {
    request_ = {};
    stream_.expires_after(std::chrono::seconds(120));  // idle keep-alive limit
    http::async_read(stream_, buffer_, request_,
                     beast::bind_front_handler(&Session::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) return close();  // end_of_stream, timeout or error
    keep_alive_ = request_.keep_alive();
    if (request_.method() == http::verb::post && request_.target() == "/stream") {
      return start_stream();
    }
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(request_.version());
    res->keep_alive(keep_alive_);
    if (request_.method() == http::verb::get && request_.target() == "/health") {
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain");
      res->body() = "ok";
    } else {
      res->result(http::status::not_found);
      res->body() = "not found";
    }
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code wec, std::size_t) {
                        if (wec || !self->keep_alive_) return self->close();
                        self->do_read();
                      });
  }

  void start_stream() {
    stream_.expires_never();
    header_ = std::make_unique<http::response<http::empty_body>>(http::status::ok,
                                                                 request_.version());
    header_->set(http::field::content_type, "text/event-stream");
    header_->set(http::field::cache_control, "no-cache");
    header_->keep_alive(keep_alive_);
    header_->chunked(true);
    serializer_ = std::make_unique<http::response_serializer<http::empty_body>>(*header_);
    writing_ = true;
    http::async_write_header(stream_, *serializer_,
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               self->on_written(ec);
                             });
    g_engine->submit(shared_from_this());
  }

  void enqueue(std::string text, bool last) {
    if (cancelled()) return;
    pending_.push_back(std::move(text));
    if (last) last_queued_ = true;
    if (!writing_) write_next();
  }

  // One write in flight; events that piled up meanwhile go out as one chunk.
  void write_next() {
    if (pending_.empty()) return;
    current_.clear();
    while (!pending_.empty()) {
      current_ += pending_.front();
      pending_.pop_front();
    }
    writing_ = true;
    auto self = shared_from_this();
    auto done = [self](beast::error_code ec, std::size_t) { self->on_written(ec); };
    if (last_queued_) {
      finishing_ = true;
      net::async_write(stream_, http::make_chunk(net::buffer(current_)), [self](beast::error_code ec, std::size_t) {
        if (ec) return self->on_written(ec);
        net::async_write(self->stream_, http::make_chunk_last(),
                         [self](beast::error_code ec2, std::size_t) { self->on_written(ec2); });
      });
    } else {
      net::async_write(stream_, http::make_chunk(net::buffer(current_)), done);
    }
  }

  void on_written(beast::error_code ec) {
    writing_ = false;
    if (ec) {  // broken pipe / reset: the client went away mid-stream
      cancelled_ = true;
      return close();
    }
    if (finishing_) {
      finishing_ = false;
      last_queued_ = false;
      serializer_.reset();
      header_.reset();
      if (!keep_alive_) return close();
      return do_read();
    }
    write_next();
  }

  void close() {
    cancelled_ = true;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  std::unique_ptr<http::response<http::empty_body>> header_;
  std::unique_ptr<http::response_serializer<http::empty_body>> serializer_;
  std::deque<std::string> pending_;
  std::string current_;
  bool keep_alive_ = true;
  bool writing_ = false;
  bool last_queued_ = false;
  bool finishing_ = false;
  std::atomic<bool> cancelled_{false};
};

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::endpoint endpoint) : ioc_(ioc), acceptor_(ioc) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
  }
  void accept() {
    acceptor_.async_accept(net::make_strand(ioc_),
                           beast::bind_front_handler(&Listener::on_accept, shared_from_this()));
  }

 private:
  void on_accept(beast::error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<Session>(std::move(socket))->start();
    accept();
  }
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  using namespace sse_bench;
  const int port = flag_int(argc, argv, "port", 18080);
  const int threads = std::max(1L, flag_int(argc, argv, "threads", 2));
  const int events = flag_int(argc, argv, "events", 100);
  const int interval_ms = flag_int(argc, argv, "interval_ms", 20);
  g_nodelay = flag_int(argc, argv, "nodelay", 1) != 0;
  exit_after(flag_int(argc, argv, "exit_after_s", 0));

  FakeEngine engine(events, interval_ms);
  g_engine = &engine;
  net::io_context ioc(threads);
  std::make_shared<Listener>(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), port))
      ->accept();
  std::cout << "beast_sse_server listening on 127.0.0.1:" << port << " io_threads=" << threads
            << std::endl;
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : pool) t.join();
}

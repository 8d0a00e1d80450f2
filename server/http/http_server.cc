// HttpServer on Boost.Beast (see http_server.h). One Session per connection, all of its work on
// its strand (a plain TCP stream, or TLS over it when HttpServerOptions::tls is set); an Exchange
// is the thread-safe handle the handler answers through. Streamed pieces
// are buffered in the Exchange and flushed by one posted task, so a burst of tokens costs one
// write, not one post and one write each.
#include "server/http/http_server.h"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "server/http/http_tls.h"

namespace attnserve::server::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr auto kWriteTimeout = std::chrono::seconds(60);  // a client that stops reading is dropped
constexpr auto kTlsHandshakeTimeout = std::chrono::seconds(30);
constexpr auto kTlsShutdownTimeout = std::chrono::seconds(2);

class Exchange;

// What an Exchange needs of its connection, whichever stream it runs on. All on the strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  virtual ~Session() = default;
  virtual net::any_io_executor executor() = 0;
  virtual void WriteWhole(const Exchange* exchange, HttpResponse response) = 0;
  virtual void WriteStreamHeader(const Exchange* exchange, int status) = 0;
  virtual void PumpStream(const Exchange* exchange) = 0;
};

class Exchange final : public HttpExchange {
 public:
  Exchange(std::weak_ptr<Session> session, HttpRequest request)
      : session_(std::move(session)), request_(std::move(request)) {}

  const HttpRequest& request() const override { return request_; }
  void Respond(HttpResponse response) override;
  void StartStream(int status) override;
  void Send(std::string data) override;
  void End() override;
  void OnClientGone(std::function<void()> on_gone) override {
    std::unique_lock lock(mu_);
    if (gone_) {
      lock.unlock();
      on_gone();
      return;
    }
    on_gone_ = std::move(on_gone);
  }

  // Session side (its strand).
  void MarkGone() {
    std::function<void()> f;
    {
      std::lock_guard lock(mu_);
      if (gone_) return;
      gone_ = true;
      f = std::move(on_gone_);
    }
    if (f) f();
  }
  // The streamed bytes queued so far (and clears the flush flag); `*end`: End was called.
  std::string TakePending(bool* end) {
    std::lock_guard lock(mu_);
    flush_posted_ = false;
    *end = end_called_;
    return std::exchange(pending_, std::string());
  }

 private:
  void PostFlush();

  const std::weak_ptr<Session> session_;
  const HttpRequest request_;
  std::mutex mu_;
  bool answered_ = false;
  bool gone_ = false;
  bool end_called_ = false;
  bool flush_posted_ = false;
  std::string pending_;
  std::function<void()> on_gone_;
};

// Stream: beast::tcp_stream, or beast::ssl_stream<beast::tcp_stream> (kTls).
template <class Stream>
class BasicSession final : public Session {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  // Plain TCP.
  BasicSession(tcp::socket socket, HttpHandler* handler, const HttpServerOptions& options)
      : stream_(std::move(socket)), handler_(handler), options_(options) {}
  // TLS: `context` is kept for the connection's lifetime (a reload does not change it).
  BasicSession(tcp::socket socket, std::shared_ptr<net::ssl::context> context, HttpHandler* handler,
               const HttpServerOptions& options)
      : context_(std::move(context)), stream_(std::move(socket), *context_), handler_(handler),
        options_(options) {}

  void Start() {
    beast::error_code ec;
    Lowest().socket().set_option(tcp::no_delay(true), ec);
    net::dispatch(Lowest().get_executor(), [self = Self()] {
      if constexpr (kTls) {
        self->Lowest().expires_after(kTlsHandshakeTimeout);
        self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->Close(/*graceful=*/false);  // not TLS, no or a bad client certificate
          self->DoRead();
        });
      } else {
        self->DoRead();
      }
    });
  }

  net::any_io_executor executor() override { return Lowest().get_executor(); }

  // Strand: answers of the open exchange.
  void WriteWhole(const Exchange* exchange, HttpResponse response) override {
    if (exchange != current_.get() || closed_) return;
    whole_ = std::make_unique<bhttp::response<bhttp::string_body>>(
        static_cast<bhttp::status>(response.status), 11);
    whole_->set(bhttp::field::server, "attnserve");
    whole_->set(bhttp::field::content_type, response.content_type);
    for (auto& [name, value] : response.headers) whole_->set(name, value);
    whole_->keep_alive(keep_alive_);
    whole_->body() = std::move(response.body);
    whole_->prepare_payload();
    Lowest().expires_after(kWriteTimeout);
    bhttp::async_write(stream_, *whole_,
                       [self = Self()](beast::error_code ec, std::size_t) {
                         self->whole_.reset();
                         if (ec) return self->ClientGone();
                         self->FinishExchange();
                       });
  }

  void WriteStreamHeader(const Exchange* exchange, int status) override {
    if (exchange != current_.get() || closed_) return;
    header_ = std::make_unique<bhttp::response<bhttp::empty_body>>(
        static_cast<bhttp::status>(status), 11);
    header_->set(bhttp::field::server, "attnserve");
    header_->set(bhttp::field::content_type, "text/event-stream");
    header_->set(bhttp::field::cache_control, "no-cache");
    header_->keep_alive(keep_alive_);
    header_->chunked(true);
    serializer_ = std::make_unique<bhttp::response_serializer<bhttp::empty_body>>(*header_);
    writing_ = true;
    Lowest().expires_after(kWriteTimeout);
    bhttp::async_write_header(stream_, *serializer_,
                              [self = Self()](beast::error_code ec, std::size_t) {
                                self->writing_ = false;
                                if (ec) return self->ClientGone();
                                self->header_sent_ = true;
                                self->PumpStream();
                              });
  }

  // Writes what the exchange has queued (one chunk), or the last chunk once End was called.
  void PumpStream(const Exchange* exchange) override {
    if (exchange == current_.get()) PumpStream();
  }
  void PumpStream() {
    if (closed_ || current_ == nullptr || writing_ || !header_sent_ || last_sent_) return;
    bool end = false;
    chunk_ = current_->TakePending(&end);
    auto self = Self();
    if (!chunk_.empty()) {
      writing_ = true;
      Lowest().expires_after(kWriteTimeout);
      net::async_write(stream_, bhttp::make_chunk(net::buffer(chunk_)),
                       [self](beast::error_code ec, std::size_t) {
                         self->writing_ = false;
                         if (ec) return self->ClientGone();
                         self->PumpStream();
                       });
    } else if (end) {
      writing_ = true;
      last_sent_ = true;
      Lowest().expires_after(kWriteTimeout);
      net::async_write(stream_, bhttp::make_chunk_last(),
                       [self](beast::error_code ec, std::size_t) {
                         self->writing_ = false;
                         if (ec) return self->ClientGone();
                         self->FinishExchange();
                       });
    }
  }

  // `graceful`: a TLS connection with no read or write in flight sends its close_notify first
  // (bounded by kTlsShutdownTimeout); otherwise, and for plain TCP, the socket just closes (every
  // response is framed by Content-Length or its last chunk, so nothing is truncated).
  void Close(bool graceful = true) {
    if (closed_) return;
    closed_ = true;
    if constexpr (kTls) {
      if (graceful && !writing_ && !watching_) {
        Lowest().expires_after(kTlsShutdownTimeout);
        stream_.async_shutdown([self = Self()](beast::error_code) { self->CloseSocket(); });
        return;
      }
    }
    CloseSocket();
  }

 private:
  std::shared_ptr<BasicSession> Self() { return std::static_pointer_cast<BasicSession>(shared_from_this()); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void CloseSocket() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().socket().close(ec);
  }

  void DoRead() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(options_.max_body_bytes);
    parser_->header_limit(64 * 1024);
    Lowest().expires_after(std::chrono::seconds(options_.idle_timeout_s));
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = Self()](beast::error_code ec, std::size_t) {
                        self->OnRead(ec);
                      });
  }

  void OnRead(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return RejectAndClose(413, "request body too large");
    if (ec == bhttp::error::header_limit) return RejectAndClose(431, "request headers too large");
    if (ec && ec.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      return RejectAndClose(400, absl::StrCat("malformed HTTP request: ", ec.message()));
    }
    if (ec) return Close();  // end of stream, idle timeout, reset
    bhttp::request<bhttp::string_body> req = parser_->release();
    parser_.reset();
    keep_alive_ = req.keep_alive();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.path = request.target.substr(0, request.target.find('?'));
    for (const auto& field : req) {
      request.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                   std::string(field.value()));
    }
    request.body = std::move(req.body());
    current_ = std::make_shared<Exchange>(weak_from_this(), std::move(request));
    header_sent_ = last_sent_ = false;
    Lowest().expires_never();  // the answer may take as long as generation takes
    Watch();
    handler_->Handle(current_);
  }

  // Keeps a read pending while an exchange is open: EOF or reset means the client is gone.
  // Bytes that arrive (a pipelined next request) are kept for the next parse.
  void Watch() {
    if (watching_ || closed_) return;
    if (buffer_.size() > options_.max_body_bytes) return;  // stop reading a flooding client
    watching_ = true;
    auto on_read = [self = Self()](beast::error_code ec, std::size_t n) {
          self->watching_ = false;
          if (!ec) {
            self->buffer_.commit(n);
            if (self->current_ != nullptr) return self->Watch();
            return self->DoRead();
          }
          if (ec == net::error::operation_aborted && !self->closed_ && self->current_ == nullptr) {
            return self->DoRead();  // FinishExchange cancelled the watch to read the next request
          }
          self->ClientGone();
        };
    // TLS reads records through the stream; plain TCP reads the socket (no timer: the answer may
    // take as long as generation takes).
    if constexpr (kTls) {
      stream_.async_read_some(buffer_.prepare(4096), std::move(on_read));
    } else {
      Lowest().socket().async_read_some(buffer_.prepare(4096), std::move(on_read));
    }
  }

  void ClientGone() {
    if (current_ != nullptr) {
      std::shared_ptr<Exchange> exchange = std::move(current_);
      current_ = nullptr;
      exchange->MarkGone();
    }
    Close();
  }

  void FinishExchange() {
    current_ = nullptr;
    header_.reset();
    serializer_.reset();
    chunk_.clear();
    if (!keep_alive_) return Close();
    if (watching_) {
      beast::error_code ec;
      Lowest().socket().cancel(ec);  // the watch ends with operation_aborted and starts DoRead
      return;
    }
    DoRead();
  }

  void RejectAndClose(int status, const std::string& reason) {
    keep_alive_ = false;
    HttpRequest request;
    current_ = std::make_shared<Exchange>(weak_from_this(), std::move(request));
    WriteWhole(current_.get(), handler_->RejectUnreadable(status, reason));
  }

  std::shared_ptr<net::ssl::context> context_;  // TLS only; declared before stream_, which uses it
  Stream stream_;
  HttpHandler* const handler_;
  const HttpServerOptions options_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Exchange> current_;  // the open exchange; null between requests
  bool keep_alive_ = true;
  bool watching_ = false;
  bool closed_ = false;
  bool writing_ = false;
  bool header_sent_ = false;
  bool last_sent_ = false;
  std::unique_ptr<bhttp::response<bhttp::string_body>> whole_;
  std::unique_ptr<bhttp::response<bhttp::empty_body>> header_;
  std::unique_ptr<bhttp::response_serializer<bhttp::empty_body>> serializer_;
  std::string chunk_;
};

void Exchange::Respond(HttpResponse response) {
  {
    std::lock_guard lock(mu_);
    if (answered_ || gone_) return;
    answered_ = true;
  }
  if (std::shared_ptr<Session> session = session_.lock()) {
    // The exchange is compared to the session's open one before use (WriteWhole), so a raw
    // pointer suffices: the session holds the exchange while it is open.
    net::post(session->executor(), [session, me = this, response = std::move(response)]() mutable {
      session->WriteWhole(me, std::move(response));
    });
  }
}

void Exchange::StartStream(int status) {
  {
    std::lock_guard lock(mu_);
    if (answered_ || gone_) return;
    answered_ = true;
  }
  if (std::shared_ptr<Session> session = session_.lock()) {
    net::post(session->executor(),
              [session, me = this, status] { session->WriteStreamHeader(me, status); });
  }
}

void Exchange::Send(std::string data) {
  {
    std::lock_guard lock(mu_);
    if (gone_ || end_called_) return;
    pending_ += data;  // before StartStream: kept until the head is written
    if (!answered_ || flush_posted_) return;
    flush_posted_ = true;
  }
  PostFlush();
}

void Exchange::End() {
  {
    std::lock_guard lock(mu_);
    if (gone_ || end_called_) return;
    end_called_ = true;
    if (!answered_ || flush_posted_) return;
    flush_posted_ = true;
  }
  PostFlush();
}

void Exchange::PostFlush() {
  if (std::shared_ptr<Session> session = session_.lock()) {
    net::post(session->executor(), [session, me = this] { session->PumpStream(me); });
  }
}

class Listener : public std::enable_shared_from_this<Listener> {
 public:
  Listener(net::io_context& ioc, tcp::acceptor acceptor, HttpHandler* handler,
           const HttpServerOptions& options)
      : ioc_(ioc), acceptor_(std::move(acceptor)), handler_(handler), options_(options) {}
  void Accept() {
    acceptor_.async_accept(net::make_strand(ioc_), [self = shared_from_this()](
                                                       beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted || !self->acceptor_.is_open()) return;
      if (ec) return self->Accept();
      if (self->options_.tls != nullptr) {
        std::make_shared<BasicSession<beast::ssl_stream<beast::tcp_stream>>>(
            std::move(socket), self->options_.tls->Current(), self->handler_, self->options_)->Start();
      } else {
        std::make_shared<BasicSession<beast::tcp_stream>>(std::move(socket), self->handler_, self->options_)->Start();
      }
      self->Accept();
    });
  }
  void Close() {
    beast::error_code ec;
    acceptor_.close(ec);
  }

 private:
  net::io_context& ioc_;
  tcp::acceptor acceptor_;
  HttpHandler* const handler_;
  const HttpServerOptions options_;
};

}  // namespace

std::string HttpRequest::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

struct HttpServer::Impl {
  net::io_context ioc;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  int port = 0;
  bool stopped = false;
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { Stop(); }
int HttpServer::port() const { return impl_->port; }

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                              HttpHandler* handler) {
  auto impl = std::make_unique<Impl>();
  beast::error_code ec;
  const net::ip::address address = net::ip::make_address(options.host, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("--host '", options.host, "' is not an IP address: ", ec.message()));
  }
  const std::string where = absl::StrCat(options.host, ":", options.port);
  tcp::acceptor acceptor(impl->ioc);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  if (acceptor.open(endpoint.protocol(), ec); !ec) {
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (acceptor.bind(endpoint, ec); !ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  }
  if (ec) return absl::UnavailableError(absl::StrCat("HTTP: cannot listen on ", where, ": ", ec.message()));
  impl->port = acceptor.local_endpoint().port();
  impl->listener = std::make_shared<Listener>(impl->ioc, std::move(acceptor), handler, options);
  impl->listener->Accept();
  for (int i = 0; i < std::max(1, options.io_threads); ++i) {
    impl->threads.emplace_back([ioc = &impl->ioc] { ioc->run(); });
  }
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

void HttpServer::Stop() {
  if (impl_ == nullptr || impl_->stopped) return;
  impl_->stopped = true;
  net::post(impl_->ioc, [listener = impl_->listener] { listener->Close(); });
  impl_->ioc.stop();
  for (std::thread& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace attnserve::server::http

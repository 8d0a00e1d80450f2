// HttpServer: an asynchronous HTTP/1.1 server on Boost.Beast (docs/http_library_choice.md says
// why Beast): a fixed pool of I/O threads serves every connection (keep-alive, no thread per
// connection or per token). Each request becomes an HttpExchange handed to the HttpHandler; the
// handler answers it once — a whole response, or a chunked stream (server-sent events) — from any
// thread, at any later time. While a request is open the server keeps a read pending on its
// connection, so a client that disconnects is noticed at once (HttpExchange::OnClientGone), also
// before the first byte of the answer. With HttpServerOptions::tls it serves HTTPS (mTLS when the
// TLS files name a client CA).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve::server::http {

class HttpTls;  // http_tls.h

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as sent: path and query
  std::string path;    // target without the query
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The first header named `name` (lower-case); "" when absent.
  std::string Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// One request and its answer. Thread-safe; every method may be called from any thread. The
// server keeps the exchange alive while the connection is open; holders keep it alive beyond.
class HttpExchange {
 public:
  virtual ~HttpExchange() = default;
  virtual const HttpRequest& request() const = 0;

  // Answers with a whole response. At most one of Respond / StartStream per exchange; later
  // calls are ignored. Dropped when the client is gone.
  virtual void Respond(HttpResponse response) = 0;

  // Starts a chunked `text/event-stream` response with `status`; Send queues one piece of the
  // body (pieces queued while a write is in flight go out together), End finishes the body.
  // Pieces sent before StartStream wait for it (and are dropped if Respond answers instead).
  virtual void StartStream(int status) = 0;
  virtual void Send(std::string data) = 0;
  virtual void End() = 0;

  // `on_gone` runs once, on an I/O thread, when the client disconnects (or a write fails) before
  // the answer is complete; at once (on the caller's thread) when that has already happened.
  // Call at most once.
  virtual void OnClientGone(std::function<void()> on_gone) = 0;
};

class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // Called on an I/O thread for each request; must not block (answer later from elsewhere).
  virtual void Handle(std::shared_ptr<HttpExchange> exchange) = 0;
  // The answer to a request whose body exceeds the limit (status 413) or whose head is malformed
  // (400); the connection is closed after it.
  virtual HttpResponse RejectUnreadable(int status, const std::string& reason) = 0;
};

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;                        // 0 = any free port (see HttpServer::port)
  int io_threads = 2;
  uint64_t max_body_bytes = 32 << 20;  // larger bodies get 413
  int idle_timeout_s = 120;            // a keep-alive connection with no request is closed after
  const HttpTls* tls = nullptr;        // HTTPS (and mTLS) when set; must outlive the server
};

class HttpServer {
 public:
  // Binds and starts serving; errors name the address. `handler` must outlive the server.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpServerOptions& options,
                                                           HttpHandler* handler);
  ~HttpServer();  // Stop()

  int port() const;
  // Stops accepting, closes every connection and joins the I/O threads. Exchanges still held
  // elsewhere stay valid; their answers are dropped.
  void Stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnserve::server::http

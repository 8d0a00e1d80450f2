// OpenAiStreamClient (see openai_stream_call.h): Boost.Beast async HTTP/1.1 client, one
// connection per call, SSE parsed from the chunked body as chunks arrive.
#include "clients/bench/openai_stream_call.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "nlohmann/json.hpp"

namespace attnserve::bench {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Json = nlohmann::json;

// The gRPC code docs/api.md maps an HTTP status to.
grpc::StatusCode CodeForHttp(unsigned status) {
  switch (status) {
    case 400: return grpc::StatusCode::INVALID_ARGUMENT;
    case 401: return grpc::StatusCode::UNAUTHENTICATED;
    case 404: return grpc::StatusCode::NOT_FOUND;
    case 413: case 429: case 431: return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case 503: return grpc::StatusCode::UNAVAILABLE;
    case 504: return grpc::StatusCode::DEADLINE_EXCEEDED;
    default: return grpc::StatusCode::UNKNOWN;
  }
}

v1::FinishReason FinishReasonFor(const std::string& reason) {
  if (reason == "stop") return v1::STOP;
  if (reason == "length") return v1::LENGTH;
  return v1::CANCELLED;
}

std::string ErrorMessage(const std::string& body) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].value("message", Json()).is_string()) {
    return j["error"]["message"].get<std::string>();
  }
  return body;
}

}  // namespace

bool FoldSseEvent(const std::string& data, Clock::time_point now, RequestRecord* record,
                  std::string* error) {
  if (data == "[DONE]") return true;
  Json j = Json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    *error = "unparsable SSE event: " + data.substr(0, 200);
    return false;
  }
  if (j.contains("error")) {
    *error = ErrorMessage(data);
    return false;
  }
  v1::GenerateResponse message;
  const Json& choices = j.value("choices", Json::array());
  if (choices.is_array() && !choices.empty()) {
    // logprobs: 0 makes each event list its tokens; without it an event counts as one token.
    const Json& logprobs = choices[0].value("logprobs", Json());
    size_t k = 1;
    if (logprobs.is_object() && logprobs.value("tokens", Json()).is_array()) {
      k = logprobs["tokens"].size();
    }
    for (size_t t = 0; t < k; ++t) message.add_token_ids(0);
    const Json& reason = choices[0].value("finish_reason", Json());
    if (reason.is_string()) message.set_finish_reason(FinishReasonFor(reason.get<std::string>()));
  }
  const Json& usage = j.value("usage", Json());
  if (usage.is_object()) {
    message.mutable_usage()->set_prompt_tokens(usage.value("prompt_tokens", 0u));
    message.mutable_usage()->set_completion_tokens(usage.value("completion_tokens", 0u));
  }
  record->OnMessage(now, message);
  if (usage.is_object()) {  // the usage-only last event: exact counts
    record->prompt_tokens = message.usage().prompt_tokens();
    record->output_tokens = message.usage().completion_tokens();
  }
  return true;
}

struct OpenAiStreamClient::Impl {
  net::io_context io;
  net::executor_work_guard<net::io_context::executor_type> work = net::make_work_guard(io);
  std::string host, port, model, api_key;
  tcp::resolver::results_type endpoints;
  std::thread thread;
};

namespace {

class StreamCall : public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(net::io_context& io, RequestRecord* record, std::function<void()> on_done)
      : stream_(io), record_(record), on_done_(std::move(on_done)) {}

  void Run(const tcp::resolver::results_type& endpoints, bhttp::request<bhttp::string_body> request,
           std::optional<std::chrono::milliseconds> timeout) {
    request_ = std::move(request);
    if (timeout.has_value()) stream_.expires_after(*timeout);
    parser_.body_limit(boost::none);
    on_chunk_body_ = [this](uint64_t, beast::string_view body, beast::error_code&) -> size_t {
      OnBody(std::string_view(body.data(), body.size()));
      return body.size();
    };
    parser_.on_chunk_body(on_chunk_body_);
    record_->sent = Clock::now();
    stream_.async_connect(endpoints, [self = shared_from_this()](beast::error_code ec,
                                                                  const tcp::endpoint&) {
      if (ec) return self->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect: " + ec.message()));
      bhttp::async_write(self->stream_, self->request_,
                         [self](beast::error_code ec, size_t) { self->OnWritten(ec); });
    });
  }

 private:
  void OnWritten(beast::error_code ec) {
    if (ec) return Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "write: " + ec.message()));
    bhttp::async_read(stream_, buffer_, parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  // Chunk data: split into SSE events ("data: ...\r\n\r\n" or "\n\n") and fold each.
  void OnBody(std::string_view body) {
    if (!error_.empty()) return;
    pending_.append(body);
    const Clock::time_point now = Clock::now();
    for (;;) {
      size_t end = pending_.find("\n\n");
      size_t skip = 2;
      const size_t crlf = pending_.find("\r\n\r\n");
      if (crlf != std::string::npos && (end == std::string::npos || crlf < end)) end = crlf, skip = 4;
      if (end == std::string::npos) return;
      std::string event = pending_.substr(0, end);
      pending_.erase(0, end + skip);
      if (event.rfind("data: ", 0) == 0 && !FoldSseEvent(event.substr(6), now, record_, &error_)) {
        return;
      }
    }
  }

  void OnRead(beast::error_code ec) {
    if (ec == beast::error::timeout) {
      return Finish(grpc::Status(grpc::StatusCode::DEADLINE_EXCEEDED, "timed out"));
    }
    if (ec) return Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "read: " + ec.message()));
    const unsigned status = parser_.get().result_int();
    if (status != 200) {
      return Finish(grpc::Status(CodeForHttp(status), "HTTP " + std::to_string(status) + ": " +
                                                          ErrorMessage(parser_.get().body())));
    }
    if (!error_.empty()) return Finish(grpc::Status(grpc::StatusCode::INTERNAL, error_));
    Finish(grpc::Status::OK);
  }

  void Finish(grpc::Status status) {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    record_->done = Clock::now();
    record_->status = std::move(status);
    record_->completed = true;
    std::function<void()> on_done = std::move(on_done_);
    on_done();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bhttp::request<bhttp::string_body> request_;
  bhttp::response_parser<bhttp::string_body> parser_;
  std::function<size_t(uint64_t, beast::string_view, beast::error_code&)> on_chunk_body_;
  std::string pending_;
  std::string error_;
  RequestRecord* record_;
  std::function<void()> on_done_;
};

}  // namespace

OpenAiStreamClient::OpenAiStreamClient(std::string host, std::string port, std::string model,
                                       std::string api_key)
    : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = std::move(port);
  impl_->model = std::move(model);
  impl_->api_key = std::move(api_key);
  beast::error_code ec;
  impl_->endpoints = tcp::resolver(impl_->io).resolve(impl_->host, impl_->port, ec);
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

OpenAiStreamClient::~OpenAiStreamClient() {
  impl_->work.reset();
  impl_->thread.join();
}

std::string OpenAiStreamClient::RequestBody(const v1::GenerateRequest& request) const {
  Json body = {{"model", impl_->model},
               {"max_tokens", request.max_tokens()},
               {"ignore_eos", request.ignore_eos()},
               {"temperature", request.sampling().temperature()},
               {"stream", true},
               {"logprobs", 0},  // the sampled token's logprob: lets the client count tokens
               {"stream_options", {{"include_usage", true}}}};
  if (request.sampling().has_seed()) body["seed"] = request.sampling().seed();
  if (request.prompt_token_ids_size() > 0) {
    body["prompt"] = Json(std::vector<int32_t>(request.prompt_token_ids().begin(),
                                               request.prompt_token_ids().end()));
  } else {
    body["prompt"] = request.prompt();
  }
  return body.dump();
}

void OpenAiStreamClient::Start(const v1::GenerateRequest& request,
                               std::optional<std::chrono::milliseconds> timeout,
                               RequestRecord* record, std::function<void()> on_done) {
  bhttp::request<bhttp::string_body> http_request(bhttp::verb::post, "/v1/completions", 11);
  http_request.set(bhttp::field::host, impl_->host);
  http_request.set(bhttp::field::content_type, "application/json");
  http_request.set(bhttp::field::accept, "text/event-stream");
  if (!impl_->api_key.empty()) http_request.set(bhttp::field::authorization, "Bearer " + impl_->api_key);
  http_request.keep_alive(false);
  http_request.body() = RequestBody(request);
  http_request.prepare_payload();
  auto call = std::make_shared<StreamCall>(impl_->io, record, std::move(on_done));
  net::post(impl_->io, [call, endpoints = impl_->endpoints, http_request = std::move(http_request),
                        timeout]() mutable { call->Run(endpoints, std::move(http_request), timeout); });
}

}  // namespace attnserve::bench

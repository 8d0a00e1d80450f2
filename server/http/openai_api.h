// OpenAiApi: the routes of the OpenAI-compatible HTTP API (docs/api.md) on one engine, beside
// gRPC: POST /v1/completions, POST /v1/chat/completions, GET /v1/models[/{id}], POST /tokenize,
// POST /detokenize, GET /health, GET /metrics (the daemon's Prometheus registry). Requests are
// converted to the gRPC API's messages and take its path (openai_request.h, openai_generation.h).
// It answers before the model has loaded (health 503 "loading"; the API 503) so load balancers
// and probes see the daemon from its first second.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "engine/runtime/engine.h"
#include "server/access/access_control.h"
#include "server/chat_prompt.h"
#include "server/http/http_server.h"
#include "server/open_calls.h"

namespace attnserve::server {
class PrometheusRequestObserver;
}

namespace attnserve::server::http {

struct OpenAiApiOptions {
  std::string served_model_name;
  // The access gate (server/access; may be null: every call is allowed): /v1/completions and
  // /v1/chat/completions go through AdmitWork (key, quotas, caps), /v1/models, /tokenize and
  // /detokenize through Authenticate; /health and /metrics stay open. Must outlive the API.
  AccessControl* access = nullptr;
};

class OpenAiApi : public HttpHandler {
 public:
  // `metrics` (may be null) must outlive the API; it counts attnserve_api_requests_total
  // {protocol="http"} and serves /metrics from its registry.
  OpenAiApi(OpenAiApiOptions options, PrometheusRequestObserver* metrics);

  // The loaded model: from now on the API serves. `engine` (started) and `chat` (may be null)
  // must outlive every request. Call once.
  void SetEngine(Engine* engine, const ChatPrompt* chat);
  // Shutting down: /health answers 503 "draining" (the engine refuses new work itself).
  void SetDraining() { draining_.store(true); }

  void Handle(std::shared_ptr<HttpExchange> exchange) override;
  HttpResponse RejectUnreadable(int status, const std::string& reason) override;

  // Generation calls in progress (for shutdown).
  OpenCalls& open_calls() { return open_calls_; }

 private:
  // Answers a known, authorized route; `done(http_status)` records it when answered.
  void Route(const std::shared_ptr<HttpExchange>& exchange, const std::string& route,
             const std::function<void(int)>& done);
  HttpResponse Models(const std::string& id) const;
  HttpResponse Tokenize(const std::string& body) const;
  HttpResponse Detokenize(const std::string& body) const;
  HttpResponse Health() const;
  HttpResponse Metrics() const;
  // Answers `exchange` with a refusal (metrics, Retry-After) for key `key_name`.
  void Refuse(const std::shared_ptr<HttpExchange>& exchange, const absl::Status& status,
              const std::string& key_name, const std::function<void(int)>& done);

  const OpenAiApiOptions options_;
  PrometheusRequestObserver* const metrics_;
  std::atomic<Engine*> engine_{nullptr};
  std::atomic<const ChatPrompt*> chat_{nullptr};
  std::atomic<bool> draining_{false};
  const std::string id_salt_;
  std::atomic<uint64_t> next_id_{0};
  const int64_t created_;  // unix seconds, for /v1/models
  OpenCalls open_calls_;
};

}  // namespace attnserve::server::http

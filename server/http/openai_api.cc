// OpenAiApi routes (see openai_api.h).
#include "server/http/openai_api.h"

#include <chrono>
#include <random>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "prometheus/text_serializer.h"
#include "server/http/openai_error.h"
#include "server/http/openai_generation.h"
#include "server/http/openai_request.h"
#include "server/http/openai_response.h"
#include "server/metrics.h"

namespace attnserve::server::http {
namespace {

struct RouteEntry {
  const char* method;
  const char* path;
  bool needs_key;
};
// Metric labels come from this table only (no unbounded label values).
constexpr RouteEntry kRoutes[] = {
    {"POST", "/v1/completions", true}, {"POST", "/v1/chat/completions", true},
    {"GET", "/v1/models", true},       {"POST", "/tokenize", true},
    {"POST", "/detokenize", true},     {"GET", "/health", false},
    {"GET", "/metrics", false},
};

HttpResponse JsonResponse(const Json& body) {
  HttpResponse r;
  r.body = DumpJson(body);
  return r;
}

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

OpenAiApi::OpenAiApi(OpenAiApiOptions options, PrometheusRequestObserver* metrics)
    : options_(std::move(options)),
      metrics_(metrics),
      id_salt_(absl::StrFormat("%08x", std::random_device()())),
      created_(UnixNow()) {}

void OpenAiApi::SetEngine(Engine* engine, const ChatPrompt* chat) {
  chat_.store(chat);
  engine_.store(engine);
}

void OpenAiApi::Refuse(const std::shared_ptr<HttpExchange>& exchange, const absl::Status& status,
                       const std::string& key_name, const std::function<void(int)>& done) {
  if (metrics_ != nullptr) metrics_->OnRejected(status, key_name);
  HttpResponse r = ErrorResponse(status);
  if (status.code() == absl::StatusCode::kUnauthenticated) r.headers.emplace_back("www-authenticate", "Bearer");
  const int http_status = r.status;
  exchange->Respond(std::move(r));
  done(http_status);
}

HttpResponse OpenAiApi::RejectUnreadable(int status, const std::string& reason) {
  if (metrics_ != nullptr) metrics_->OnApiRequest("http", "other", StatusCodeForHttp(status));
  HttpResponse r;
  r.status = status;
  r.body = DumpJson(Json{{"error", {{"message", reason},
                                    {"type", "invalid_request_error"},
                                    {"param", nullptr},
                                    {"code", status == 413 ? Json("request_too_large") : Json()}}}});
  return r;
}

void OpenAiApi::Handle(std::shared_ptr<HttpExchange> exchange) {
  const HttpRequest& request = exchange->request();
  std::string route = "other";
  bool path_known = false, needs_key = true;
  for (const RouteEntry& r : kRoutes) {
    const bool path_match = request.path == r.path ||
                            (std::string_view(r.path) == "/v1/models" &&
                             absl::StartsWith(request.path, "/v1/models/"));
    if (!path_match) continue;
    path_known = true;
    needs_key = r.needs_key;
    if (request.method == r.method) route = r.path;
  }
  auto done = [metrics = metrics_, route](int status) {
    if (metrics != nullptr) metrics->OnApiRequest("http", route, StatusCodeForHttp(status));
  };
  auto answer = [&](HttpResponse response) {
    const int status = response.status;
    exchange->Respond(std::move(response));
    done(status);
  };
  if (!path_known) {
    return answer(ErrorResponse(absl::NotFoundError(
        absl::StrCat("no route ", request.method, " ", request.path,
                     " (see docs/api.md: /v1/completions, /v1/chat/completions, /v1/models, "
                     "/tokenize, /detokenize, /health, /metrics)"))));
  }
  if (route == "other") {
    return answer(ErrorResponseForHttpStatus(
        405, absl::UnimplementedError(absl::StrCat("method ", request.method, " is not allowed on ", request.path))));
  }
  const bool does_work = route == "/v1/completions" || route == "/v1/chat/completions";
  if (needs_key && !does_work && options_.access != nullptr) {
    std::string key_name;
    absl::StatusOr<Caller> caller = options_.access->Authenticate(request.Header("authorization"), &key_name);
    if (!caller.ok()) return Refuse(exchange, caller.status(), key_name, done);
  }
  Route(exchange, route, done);
}

void OpenAiApi::Route(const std::shared_ptr<HttpExchange>& exchange, const std::string& route,
                      const std::function<void(int)>& done) {
  const HttpRequest& request = exchange->request();
  auto answer = [&](HttpResponse response) {
    const int status = response.status;
    exchange->Respond(std::move(response));
    done(status);
  };
  if (route == "/health") return answer(Health());
  if (route == "/metrics") return answer(Metrics());
  Engine* engine = engine_.load();
  if (engine == nullptr) {
    return answer(ErrorResponse(absl::UnavailableError("the model is still loading; retry shortly")));
  }
  if (route == "/v1/models") {
    const std::string id = request.path.size() > 11 ? request.path.substr(11) : "";
    return answer(Models(id));
  }
  if (route == "/tokenize") return answer(Tokenize(request.body));
  if (route == "/detokenize") return answer(Detokenize(request.body));

  std::string key_name = "anonymous";
  absl::StatusOr<Admission> admission =
      options_.access == nullptr ? Admission{}
                                 : options_.access->AdmitWork(request.Header("authorization"), &key_name);
  if (!admission.ok()) return Refuse(exchange, admission.status(), key_name, done);
  const Endpoint endpoint =
      route == "/v1/completions" ? Endpoint::kCompletions : Endpoint::kChatCompletions;
  absl::StatusOr<Json> body = ParseJsonBody(request.body);
  if (!body.ok()) return answer(ErrorResponse(body.status()));
  ParseContext context;
  context.tokenizer = &engine->tokenizer();
  context.chat = chat_.load();
  context.served_model_name = options_.served_model_name;
  context.max_model_len = engine->info().max_context;
  absl::StatusOr<OpenAiRequest> parsed = ParseOpenAiRequest(endpoint, *body, context);
  absl::Status fits = parsed.status();
  for (size_t i = 0; fits.ok() && i < parsed->prompts.size(); ++i) {
    v1::GenerateRequest& prompt = parsed->prompts[i];
    uint32_t max_tokens = prompt.max_tokens();
    fits = ApplyCaps(admission->caller, prompt.prompt_token_ids_size(), parsed->max_tokens_given, &max_tokens);
    prompt.set_max_tokens(max_tokens);
  }
  if (!fits.ok()) return Refuse(exchange, fits, key_name, done);
  if (metrics_ != nullptr) metrics_->OnKeyRequest(key_name);
  std::string id = absl::StrCat(endpoint == Endpoint::kCompletions ? "cmpl-" : "chatcmpl-", id_salt_,
                                "-", next_id_.fetch_add(1) + 1);
  StartGenerationCall(*engine, *std::move(parsed), std::move(id), exchange,
                      [done, guard = open_calls_.Track(), metrics = metrics_,
                       lease = std::make_shared<QuotaLease>(std::move(admission->lease))](int status) {
                        if (metrics != nullptr && status != 200 && status != 499) {
                          metrics->OnRejected(status == 429   ? "queue_full"
                                              : status == 503 ? "unavailable"
                                              : status == 400 ? "invalid_argument"
                                                              : "other");
                        }
                        done(status);
                      });
}

HttpResponse OpenAiApi::Models(const std::string& id) const {
  const Engine* engine = engine_.load();
  Json model = {{"id", options_.served_model_name},
                {"object", "model"},
                {"created", created_},
                {"owned_by", "attnserve"},
                {"root", engine->info().model_path},
                {"parent", nullptr},
                {"max_model_len", engine->info().max_context}};
  if (!id.empty()) {
    if (id != options_.served_model_name) {
      return ErrorResponse(absl::NotFoundError(absl::StrCat("model '", id, "' does not exist; this server "
                                                            "serves '", options_.served_model_name, "'")),
                           "model");
    }
    return JsonResponse(model);
  }
  return JsonResponse(Json{{"object", "list"}, {"data", Json::array({model})}});
}

HttpResponse OpenAiApi::Tokenize(const std::string& text) const {
  const Engine* engine = engine_.load();
  absl::StatusOr<Json> body = ParseJsonBody(text);
  if (!body.ok()) return ErrorResponse(body.status());
  const Tokenizer& tokenizer = engine->tokenizer();
  std::vector<int32_t> ids;
  auto flag = [&](const char* name, bool fallback) -> absl::StatusOr<bool> {
    auto it = body->find(name);
    if (it == body->end() || it->is_null()) return fallback;
    if (!it->is_boolean()) return absl::InvalidArgumentError(absl::StrCat(name, " must be true or false"));
    return it->get<bool>();
  };
  if (body->contains("messages")) {
    const ChatPrompt* chat = chat_.load();
    if (chat == nullptr) {
      return ErrorResponse(absl::FailedPreconditionError("this model has no chat template"), "messages");
    }
    absl::StatusOr<Json> messages = ChatMessagesFromOpenAi((*body)["messages"]);
    if (!messages.ok()) return ErrorResponse(messages.status());
    absl::StatusOr<bool> add_generation_prompt = flag("add_generation_prompt", true);
    if (!add_generation_prompt.ok()) return ErrorResponse(add_generation_prompt.status());
    absl::StatusOr<RenderedChat> rendered =
        chat->Render(*messages, body->value("tools", Json()), *add_generation_prompt, Json());
    if (!rendered.ok()) return ErrorResponse(rendered.status());
    ids = std::move(rendered->token_ids);
  } else {
    auto prompt = body->find("prompt");
    if (prompt == body->end() || !prompt->is_string()) {
      return ErrorResponse(absl::InvalidArgumentError("prompt must be a string (or give messages)"));
    }
    absl::StatusOr<bool> add_special = flag("add_special_tokens", true);
    if (!add_special.ok()) return ErrorResponse(add_special.status());
    ids = tokenizer.Encode(prompt->get<std::string>(), *add_special);
  }
  Json strs = Json::array();
  for (int32_t id : ids) strs.push_back(tokenizer.IdToToken(id));
  return JsonResponse(Json{{"count", ids.size()},
                           {"max_model_len", engine->info().max_context},
                           {"tokens", ids},
                           {"token_strs", std::move(strs)}});
}

HttpResponse OpenAiApi::Detokenize(const std::string& text) const {
  const Engine* engine = engine_.load();
  absl::StatusOr<Json> body = ParseJsonBody(text);
  if (!body.ok()) return ErrorResponse(body.status());
  auto tokens = body->find("tokens");
  if (tokens == body->end() || !tokens->is_array()) {
    return ErrorResponse(absl::InvalidArgumentError("tokens must be a list of token ids"));
  }
  std::vector<int32_t> ids;
  const int64_t vocab = engine->info().vocab_size;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const Json& id = (*tokens)[i];
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= vocab) {
      return ErrorResponse(absl::InvalidArgumentError(
          absl::StrCat("tokens[", i, "] is not a token id in [0, ", vocab, ")")));
    }
    ids.push_back(id.get<int32_t>());
  }
  return JsonResponse(Json{{"prompt", engine->tokenizer().Decode(ids, /*skip_special_tokens=*/true)}});
}

HttpResponse OpenAiApi::Health() const {
  const Engine* engine = engine_.load();
  const char* state = engine == nullptr ? "loading"
                      : (draining_.load() || engine->CurrentStatus().draining) ? "draining"
                                                                              : "serving";
  HttpResponse r = JsonResponse(Json{{"status", state}});
  r.status = std::string_view(state) == "serving" ? 200 : 503;
  return r;
}

HttpResponse OpenAiApi::Metrics() const {
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  if (metrics_ != nullptr) r.body = prometheus::TextSerializer().Serialize(metrics_->registry()->Collect());
  return r;
}

}  // namespace attnserve::server::http

// OpenAI error shape and status mapping (see openai_error.h).
#include "server/http/openai_error.h"

#include <cmath>
#include <optional>

#include "engine/admission/refusal.h"

#include <cctype>
#include <string_view>

#include "absl/strings/match.h"
#include "nlohmann/json.hpp"

namespace attnserve::server::http {

int HttpStatusFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk: return 200;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kFailedPrecondition: return 400;
    case absl::StatusCode::kUnauthenticated: return 401;
    case absl::StatusCode::kPermissionDenied: return 403;
    case absl::StatusCode::kNotFound: return 404;
    case absl::StatusCode::kResourceExhausted: return 429;
    case absl::StatusCode::kCancelled: return 499;  // client closed the request (nginx's code)
    case absl::StatusCode::kUnimplemented: return 501;
    case absl::StatusCode::kUnavailable: return 503;
    case absl::StatusCode::kDeadlineExceeded: return 504;
    default: return 500;
  }
}

absl::StatusCode StatusCodeForHttp(int http_status) {
  switch (http_status) {
    case 200: return absl::StatusCode::kOk;
    case 400: return absl::StatusCode::kInvalidArgument;
    case 401: return absl::StatusCode::kUnauthenticated;
    case 403: return absl::StatusCode::kPermissionDenied;
    case 404: return absl::StatusCode::kNotFound;
    case 405: case 501: return absl::StatusCode::kUnimplemented;
    case 413: case 429: case 431: return absl::StatusCode::kResourceExhausted;
    case 499: return absl::StatusCode::kCancelled;
    case 503: return absl::StatusCode::kUnavailable;
    case 504: return absl::StatusCode::kDeadlineExceeded;
    default: return http_status < 400 ? absl::StatusCode::kOk : absl::StatusCode::kInternal;
  }
}

std::string OpenAiParamFor(const std::string& message) {
  size_t end = 0;
  while (end < message.size() && (std::islower(static_cast<unsigned char>(message[end])) ||
                                  message[end] == '_' || message[end] == '.')) {
    ++end;
  }
  std::string field = message.substr(0, end);
  while (!field.empty() && field.back() == '.') field.pop_back();
  if (absl::StartsWith(field, "sampling.")) field = field.substr(9);
  if (field == "prompt_token_ids" || field == "token_ids") return "prompt";
  static constexpr std::string_view kKnown[] = {
      "prompt", "messages", "max_tokens", "temperature", "top_p", "top_k", "min_p", "seed",
      "repetition_penalty", "presence_penalty", "frequency_penalty", "logit_bias", "stop",
      "stop_token_ids", "top_logprobs", "logprobs", "n", "model", "priority", "stream",
      "stream_options", "response_format", "suffix", "echo", "tools", "tool_choice", "user",
      "add_special_tokens", "skip_special_tokens", "ignore_eos", "best_of",
      "max_completion_tokens", "tokens"};
  for (std::string_view known : kKnown) {
    if (field == known) return field;
  }
  if (absl::StartsWith(field, "attention") || absl::StartsWith(field, "context_policy") ||
      absl::StartsWith(field, "messages")) {
    return field;
  }
  return "";
}

namespace {

const char* ErrorType(int http_status) {
  switch (http_status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 499: return "cancelled";
    case 503: return "service_unavailable";
    case 504: return "timeout";
    default: return http_status < 500 ? "invalid_request_error" : "server_error";
  }
}

}  // namespace

std::string ErrorBody(const absl::Status& status, const std::string& param) {
  return ErrorBodyForHttpStatus(HttpStatusFor(status.code()), status, param);
}

std::string ErrorBodyForHttpStatus(int http_status, const absl::Status& status, const std::string& param) {
  const std::string message(status.message());
  const std::string p = param.empty() ? OpenAiParamFor(message) : param;
  nlohmann::ordered_json error = {{"message", message},
                          {"type", ErrorType(http_status)},
                          {"param", p.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(p)},
                          {"code", nlohmann::ordered_json()}};
  if (absl::StrContains(message, "maximum context length")) error["code"] = "context_length_exceeded";
  if (status.code() == absl::StatusCode::kNotFound && p == "model") error["code"] = "model_not_found";
  if (std::string reason = RefusalReason(status); !reason.empty()) error["code"] = reason;
  if (status.code() == absl::StatusCode::kUnauthenticated) error["code"] = "invalid_api_key";
  return nlohmann::ordered_json{{"error", error}}.dump(-1, ' ', false,
                                                       nlohmann::ordered_json::error_handler_t::replace);
}

HttpResponse ErrorResponse(const absl::Status& status, const std::string& param) {
  return ErrorResponseForHttpStatus(HttpStatusFor(status.code()), status, param);
}

HttpResponse ErrorResponseForHttpStatus(int http_status, const absl::Status& status, const std::string& param) {
  HttpResponse response;
  response.status = http_status;
  response.body = ErrorBodyForHttpStatus(http_status, status, param);
  if (std::optional<double> retry_after_s = RetryAfterSeconds(status)) {
    response.headers.emplace_back("retry-after",
                                  std::to_string(static_cast<int64_t>(std::ceil(*retry_after_s))));
  }
  return response;
}

}  // namespace attnserve::server::http

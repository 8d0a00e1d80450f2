// Errors of the OpenAI-compatible HTTP API: an absl::Status (the same statuses the gRPC API
// returns) becomes an HTTP status and OpenAI's error body
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// with `param` the OpenAI name of the offending field (the engine names fields as the gRPC API
// does: "sampling.temperature" is "temperature" here, "prompt_token_ids" is "prompt").
// docs/api.md lists the mapping.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "server/http/http_server.h"

namespace attnserve::server::http {

// INVALID_ARGUMENT / OUT_OF_RANGE / FAILED_PRECONDITION 400, UNAUTHENTICATED 401,
// PERMISSION_DENIED 403, NOT_FOUND 404, RESOURCE_EXHAUSTED 429, CANCELLED 499, UNIMPLEMENTED 501,
// UNAVAILABLE 503, DEADLINE_EXCEEDED 504, anything else 500.
int HttpStatusFor(absl::StatusCode code);

// The gRPC-equivalent code of an HTTP status, for the per-protocol request metric.
absl::StatusCode StatusCodeForHttp(int http_status);

// The OpenAI parameter an engine / conversion message is about ("" when none): the leading
// field path of the message, renamed ("sampling.top_p must be ..." -> "top_p").
std::string OpenAiParamFor(const std::string& message);

// The error body for `status`; `param` overrides the derived parameter when non-empty.
std::string ErrorBody(const absl::Status& status, const std::string& param = "");

// A whole JSON error response (HttpStatusFor(status.code()) and ErrorBody).
HttpResponse ErrorResponse(const absl::Status& status, const std::string& param = "");

// The same with an HTTP status no gRPC code maps to (405): error.type follows `http_status`
// (4xx: invalid_request_error, ...), not status.code().
std::string ErrorBodyForHttpStatus(int http_status, const absl::Status& status, const std::string& param = "");
HttpResponse ErrorResponseForHttpStatus(int http_status, const absl::Status& status, const std::string& param = "");

}  // namespace attnserve::server::http

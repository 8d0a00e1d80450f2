// The catalogue of bad inputs (issue 19): one table per surface — gRPC calls, HTTP requests and
// daemon start-ups (flags and model files) — each row with the input, the status the daemon must
// answer with and a fragment its message must contain. bad_input_catalogue_tables.cc holds the
// rows; bad_input_catalogue_test.cc runs them against the real daemon (checking after every
// request row that it still serves) and renders the table docs/reliability.md lists.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "attnserve/v1/inference.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace attnserve::testing::catalogue {

// Which of the catalogue's two shared daemons a request row talks to: both serve the default test
// model with the HTTP API on; only the second has a chat template (--chat_template).
enum class Daemon { kDefault, kChatTemplate };

// What a gRPC row's call got back: the final status and how many response messages came first.
struct GrpcOutcome {
  grpc::Status status;
  int messages = 0;
};

// `bytes` sent as the request message of `method` through the generic stub, as one unary call (the
// same on the wire as a server-streaming call's request).
GrpcOutcome RawUnaryCall(grpc::GenericStub& stub, const std::string& method, const std::string& bytes);

struct GrpcCallContext {
  v1::Inference::Stub& stub;
  grpc::GenericStub& generic;  // for payloads that are not a valid GenerateRequest
  const v1::ModelInfo& info;
};

struct GrpcRow {
  std::string name;
  std::string input;  // what is sent, as the docs table shows it
  Daemon daemon;
  std::function<GrpcOutcome(GrpcCallContext&)> call;
  grpc::StatusCode code;
  std::string fragment;  // must appear in the status message
};

// One HTTP request: sent as `raw` when that is set, else built from the other fields (HTTP/1.1,
// "Connection: close", Content-Length of `body`).
struct HttpRequestSpec {
  std::string method = "POST";
  std::string path;
  std::string body;
  std::string content_type = "application/json";
  std::string extra_headers;  // whole "Name: value\r\n" lines
  std::string raw;
};

struct HttpRow {
  std::string name;
  std::string input;
  Daemon daemon;
  HttpRequestSpec request;
  int status;
  std::string type;                  // error.type
  std::optional<std::string> param;  // error.param: nullopt = not checked, "" = null
  std::string fragment;              // must appear in error.message
};

// A daemon start-up that must fail: exit non-zero (no signal) with every fragment on stderr.
struct StartupRow {
  std::string name;
  std::string input;
  // Builds the bad input under `scratch` (an empty temp directory of the row's own) and returns
  // the daemon's arguments; the runner puts --host=127.0.0.1 --port=<free> --metrics_port=0 in
  // front (later flags win).
  std::function<std::vector<std::string>(const std::string& scratch)> setup;
  std::vector<std::string> fragments;
};

const std::vector<GrpcRow>& GrpcRows();
const std::vector<HttpRow>& HttpRows();
const std::vector<StartupRow>& StartupRows();

// The HTTP API's port of each daemon is passed as --http_port; bodies above this get 413.
inline constexpr int kHttpMaxBodyBytes = 4096;
// The file --chat_template names on the kChatTemplate daemon (a ChatML-style template).
inline constexpr const char* kChatTemplate =
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

// Markdown table of every row (surface, name, input, expected status, message fragment).
std::string CatalogueMarkdown();

}  // namespace attnserve::testing::catalogue

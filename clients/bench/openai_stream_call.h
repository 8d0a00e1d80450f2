// OpenAiStreamClient: attnserve-bench's `--backend=openai` transport. Each Start() opens a TCP
// connection to the OpenAI-compatible HTTP API (docs/api.md), POSTs one streaming
// /v1/completions request built from the same GenerateRequest the gRPC backend sends (token-id
// prompt, max_tokens, ignore_eos, temperature, seed, stream_options.include_usage) and folds each
// SSE event into the RequestRecord as it arrives. All calls share one Boost.Asio I/O thread, so
// dozens of concurrent streams cost no client threads.
//
// Token accounting: the request asks for `logprobs: 0`, so each SSE event lists the tokens it
// carries (the server coalesces tokens whose text is held back, e.g. partial UTF-8, exactly as
// the gRPC stream does); an event without logprobs counts as one token. The final usage event's
// completion_tokens then sets the exact count. HTTP errors become grpc::Status with the code that
// docs/api.md maps the HTTP status to, and the OpenAI error message.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "attnserve/v1/inference.pb.h"
#include "clients/bench/request_record.h"

namespace attnserve::bench {

class OpenAiStreamClient {
 public:
  // `host`/`port`: the daemon's --http_port; `model`: the served model name; `api_key`: sent as
  // "Authorization: Bearer" when not empty. Starts the I/O thread.
  OpenAiStreamClient(std::string host, std::string port, std::string model, std::string api_key);
  ~OpenAiStreamClient();  // waits for the I/O thread; every started call must have finished
  OpenAiStreamClient(const OpenAiStreamClient&) = delete;
  OpenAiStreamClient& operator=(const OpenAiStreamClient&) = delete;

  // Same contract as GenerateCall::Start: `request` and `record` outlive the call; `on_done` runs
  // once on the I/O thread after record->done/status/completed are set, and must not block.
  void Start(const v1::GenerateRequest& request, std::optional<std::chrono::milliseconds> timeout,
             RequestRecord* record, std::function<void()> on_done);

  // The JSON body sent for `request` (exposed for tests).
  std::string RequestBody(const v1::GenerateRequest& request) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Folds one SSE `data:` payload into `record` (exposed for tests). Returns false and sets
// `*error` when the payload is an OpenAI error event; "[DONE]" is ignored.
bool FoldSseEvent(const std::string& data, Clock::time_point now, RequestRecord* record,
                  std::string* error);

}  // namespace attnserve::bench

// GenerationCall: one /v1/completions or /v1/chat/completions request in flight. It submits
// each choice (prompt x n) to the engine as its own request — through ToGenerateSpec and
// Engine::SubmitGenerate, the gRPC path — and answers the HTTP exchange: one JSON body when every
// choice has finished, or server-sent events as tokens arrive, ending in `data: [DONE]`.
//
//   I/O thread: Start ── convert + submit every choice ── StartStream (stream) ── return
//   engine thread: ChoiceSink::OnDelta ── under the call's mutex: stream a chunk / keep output
//   last choice finished ── usage chunk, [DONE], End (stream) | Respond(whole JSON)
//   client gone (OnClientGone) ── Engine::Cancel every choice still running
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/runtime/engine.h"
#include "server/http/http_server.h"
#include "server/http/openai_request.h"

namespace attnserve::server::http {

// `on_done(http_status)` runs once when the call ends (for the request metric): 200 when it
// succeeded, else the status it answered with (499 when the client went away).
// `engine` must outlive every request it was given.
void StartGenerationCall(Engine& engine, OpenAiRequest request, std::string request_id,
                         std::shared_ptr<HttpExchange> exchange,
                         std::function<void(int http_status)> on_done);

}  // namespace attnserve::server::http

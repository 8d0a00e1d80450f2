// GenerateReactor: the server-streaming reactor of one Generate call (gRPC callback API).
//
//   gRPC thread: ctor ── proto→GenerateSpec, Validate, SubmitGenerate(spec, stream)
//   engine thread: stream->OnDelta(delta) ──┐ queue under the stream's mutex; never blocks
//                                           ▼
//   whichever thread finds no write in flight: StartWrite(next) ... OnWriteDone → next ...
//   final delta written → Finish(OK) (kError: Finish(delta.error))
//   OnCancel (client cancel / disconnect / deadline) → Finish(CANCELLED) now, Engine::Cancel(id)
//   OnDone → detach from the stream, delete this (the call stops counting in OpenCalls)
//
// The engine holds only a shared_ptr to the stream state (GenerateStream), never to the reactor;
// the stream's reactor pointer is cleared in OnDone under its mutex, so late deltas are dropped.
#pragma once

#include <memory>
#include <string>

#include "attnserve/v1/inference.grpc.pb.h"
#include "engine/runtime/engine.h"
#include "grpcpp/support/server_callback.h"
#include "server/access/access_control.h"
#include "server/chat_prompt.h"
#include "server/open_calls.h"

namespace attnserve::server {

class PrometheusRequestObserver;
class GenerateStream;

class GenerateReactor : public grpc::ServerWriteReactor<v1::GenerateResponse> {
 public:
  // Starts the request (or finishes the call at once with the validation / submit error).
  // `request_id` is the id to use (the request's own or one the service assigned). `engine` must
  // outlive the reactor; `metrics` may be null. Deletes itself in OnDone.
  // `open_call` counts the call as open until the reactor is deleted.
  // `chat` (may be null) renders request.messages. `admission` is the access gate's answer for
  // `key_name` (the metric label) (server/access): an error ends the call with it at once
  // (UNAUTHENTICATED, RESOURCE_EXHAUSTED with retry-after trailers, ...); an admission's caps bound
  // the request, and its quota slot is held until the reactor is deleted. `context` is the call's
  // (deadline, trailers).
  GenerateReactor(Engine& engine, PrometheusRequestObserver* metrics, const ChatPrompt* chat,
                  grpc::CallbackServerContext* context, const v1::GenerateRequest& request,
                  std::string request_id, OpenCalls::Guard open_call,
                  absl::StatusOr<Admission> admission, std::string key_name);

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  ~GenerateReactor() override;
  void Reject(const absl::Status& status);

  Engine& engine_;
  PrometheusRequestObserver* metrics_;
  std::shared_ptr<GenerateStream> stream_;
  const OpenCalls::Guard open_call_;
  grpc::CallbackServerContext* const context_;
  const std::string key_name_;        // metric label of the caller
  QuotaLease lease_;                  // the caller's concurrent-call slot
};

}  // namespace attnserve::server

// InferenceService: attnserve.v1.Inference on the gRPC callback API. Generate gets a
// GenerateReactor per call; Score finishes its unary reactor from the engine's callback;
// Tokenize / Detokenize / GetModelInfo / GetServerStatus answer inline (the tokenizer is immutable,
// the status a thread-safe snapshot).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "attnserve/v1/inference.grpc.pb.h"
#include "engine/runtime/engine.h"
#include "server/access/access_control.h"
#include "server/chat_prompt.h"
#include "server/open_calls.h"

namespace attnserve::server {

class PrometheusRequestObserver;

class InferenceService final : public v1::Inference::CallbackService {
 public:
  // `engine` must be started and outlive the gRPC server that serves this service; `metrics`
  // (rejection counts) and `chat` (the chat template; Generate.messages) may be null. `access`
  // (may be null: every call is allowed) gates every call: Generate and Score by AdmitWork
  // (key, quotas, caps), the others by Authenticate. All methods are called concurrently by gRPC
  // threads.
  InferenceService(Engine& engine, PrometheusRequestObserver* metrics,
                   const ChatPrompt* chat = nullptr, AccessControl* access = nullptr);

  grpc::ServerWriteReactor<v1::GenerateResponse>* Generate(
      grpc::CallbackServerContext* context, const v1::GenerateRequest* request) override;
  grpc::ServerUnaryReactor* Score(grpc::CallbackServerContext* context,
                                  const v1::ScoreRequest* request,
                                  v1::ScoreResponse* response) override;
  grpc::ServerUnaryReactor* Tokenize(grpc::CallbackServerContext* context,
                                     const v1::TokenizeRequest* request,
                                     v1::TokenizeResponse* response) override;
  grpc::ServerUnaryReactor* Detokenize(grpc::CallbackServerContext* context,
                                       const v1::DetokenizeRequest* request,
                                       v1::DetokenizeResponse* response) override;
  grpc::ServerUnaryReactor* GetModelInfo(grpc::CallbackServerContext* context,
                                         const v1::GetModelInfoRequest* request,
                                         v1::ModelInfo* response) override;
  // The engine's last published snapshot (Engine::CurrentStatus); answers inline, never blocks.
  grpc::ServerUnaryReactor* GetServerStatus(grpc::CallbackServerContext* context,
                                            const v1::GetServerStatusRequest* request,
                                            v1::ServerStatus* response) override;

  // Generate streams and Score calls in progress (for shutdown).
  OpenCalls& open_calls() { return open_calls_; }

 private:
  // The call's "authorization" metadata ("" when absent).
  static std::string_view Authorization(const grpc::CallbackServerContext* context);
  // OK, or the access gate's refusal (counted in metrics).
  absl::Status CheckKey(const grpc::CallbackServerContext* context, std::string* key_name) const;
  // AdmitWork for Generate/Score (an anonymous admission without `access`); `key_name` gets the
  // caller's metric label.
  absl::StatusOr<Admission> AdmitWork(const grpc::CallbackServerContext* context, std::string* key_name);
  // Ends a unary call with a refusal (metrics, retry-after trailers).
  grpc::ServerUnaryReactor* Refuse(grpc::CallbackServerContext* context, const absl::Status& status,
                                   std::string_view key_name) const;
  // A process-unique id "<prefix>-<n>" for requests that came without one.
  std::string NextRequestId(const char* prefix);

  Engine& engine_;
  PrometheusRequestObserver* metrics_;
  const ChatPrompt* chat_;
  AccessControl* const access_;
  const std::string id_salt_;  // random per process, so ids differ across restarts/replicas
  std::atomic<uint64_t> next_id_{0};
  OpenCalls open_calls_;
};

}  // namespace attnserve::server

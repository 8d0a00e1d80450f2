// InferenceService: attnserve.v1.Inference on the gRPC callback API. Generate gets a
// GenerateReactor per call; Score finishes its unary reactor from the engine's callback;
// Tokenize / Detokenize / GetModelInfo / GetServerStatus answer inline (the tokenizer is immutable,
// the status a thread-safe snapshot).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "attnserve/v1/inference.grpc.pb.h"
#include "engine/engine.h"
#include "server/chat_prompt.h"
#include "server/open_calls.h"

namespace attnserve::server {

class PrometheusRequestObserver;

class InferenceService final : public v1::Inference::CallbackService {
 public:
  // `engine` must be started and outlive the gRPC server that serves this service; `metrics`
  // (rejection counts) and `chat` (the chat template; Generate.messages) may be null. A
  // non-empty `api_key` must come as "authorization: Bearer <key>" metadata on every call, else
  // UNAUTHENTICATED. All methods are called concurrently by gRPC threads.
  InferenceService(Engine& engine, PrometheusRequestObserver* metrics,
                   const ChatPrompt* chat = nullptr, std::string api_key = "");

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
  // OK, or UNAUTHENTICATED when an API key is configured and the call lacks it.
  absl::Status CheckKey(const grpc::CallbackServerContext* context) const;
  // A process-unique id "<prefix>-<n>" for requests that came without one.
  std::string NextRequestId(const char* prefix);

  Engine& engine_;
  PrometheusRequestObserver* metrics_;
  const ChatPrompt* chat_;
  const std::string api_key_;
  const std::string id_salt_;  // random per process, so ids differ across restarts/replicas
  std::atomic<uint64_t> next_id_{0};
  OpenCalls open_calls_;
};

}  // namespace attnserve::server

// Health reporting over the standard grpc.health.v1.Health service (gRPC's built-in
// implementation). The overall status ("") and kInferenceServiceName move together.
#pragma once

#include "grpcpp/server.h"

namespace attnserve::server {

inline constexpr char kInferenceServiceName[] = "attnserve.v1.Inference";

// Must be called before the ServerBuilder builds the server.
void EnableHealthService();

// Sets "" and "attnserve.v1.Inference" to SERVING / NOT_SERVING. Thread-safe.
void SetServing(grpc::Server& server, bool serving);

// NOT_SERVING for every service from now on (later SetServing calls are ignored). For shutdown.
void ShutdownHealth(grpc::Server& server);

}  // namespace attnserve::server

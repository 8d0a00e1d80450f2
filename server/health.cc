// Health reporting (see health.h).
#include "server/health.h"

#include "grpcpp/health_check_service_interface.h"

namespace attnserve::server {

void EnableHealthService() { grpc::EnableDefaultHealthCheckService(true); }

void SetServing(grpc::Server& server, bool serving) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health == nullptr) return;
  health->SetServingStatus("", serving);
  health->SetServingStatus(kInferenceServiceName, serving);
}

void ShutdownHealth(grpc::Server& server) {
  grpc::HealthCheckServiceInterface* health = server.GetHealthCheckService();
  if (health != nullptr) health->Shutdown();
}

}  // namespace attnserve::server

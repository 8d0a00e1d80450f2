// Health reporting (see health.h).
#include "server/health.h"

#include "grpc/health/v1/health.pb.h"
#include "grpcpp/health_check_service_interface.h"

namespace attnserve::server {

void EnableHealthService() {
  grpc::EnableDefaultHealthCheckService(true);
  // Link the generated grpc.health.v1 descriptors into the binary so server reflection can
  // describe the health service (grpcurl ... grpc.health.v1.Health/Check).
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
}

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

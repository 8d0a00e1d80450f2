// GrpcMetricsInterceptor: a gRPC server interceptor that counts every finished
// attnserve.v1.Inference call in attnserve_api_requests_total{protocol="grpc", method, code} (the
// status the server sends). Health and reflection calls are not counted.
#pragma once

#include <memory>

#include "grpcpp/support/server_interceptor.h"

namespace attnserve::server {

class PrometheusRequestObserver;

// `metrics` must outlive the gRPC server built with the factory; may be null (then nothing is
// counted and no interceptor is created).
std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeGrpcMetricsInterceptorFactory(
    PrometheusRequestObserver* metrics);

}  // namespace attnserve::server

// GrpcMetricsInterceptor (see grpc_metrics_interceptor.h).
#include "server/grpc_metrics_interceptor.h"

#include <string_view>

#include "absl/status/status.h"
#include "server/metrics.h"

namespace attnserve::server {
namespace {

constexpr std::string_view kServicePrefix = "/attnserve.v1.Inference/";

class GrpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  GrpcMetricsInterceptor(PrometheusRequestObserver& metrics, std::string_view method)
      : metrics_(metrics), method_(method) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_.OnApiRequest("grpc", method_,
                            static_cast<absl::StatusCode>(methods->GetSendStatus().error_code()));
    }
    methods->Proceed();
  }

 private:
  PrometheusRequestObserver& metrics_;
  const std::string_view method_;  // the RPC's short name, e.g. "Generate" (static storage)
};

class GrpcMetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit GrpcMetricsInterceptorFactory(PrometheusRequestObserver& metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    const std::string_view method = info->method() == nullptr ? "" : info->method();
    if (!method.starts_with(kServicePrefix)) return nullptr;  // health, reflection
    return new GrpcMetricsInterceptor(metrics_, method.substr(kServicePrefix.size()));
  }

 private:
  PrometheusRequestObserver& metrics_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeGrpcMetricsInterceptorFactory(
    PrometheusRequestObserver* metrics) {
  if (metrics == nullptr) return nullptr;
  return std::make_unique<GrpcMetricsInterceptorFactory>(*metrics);
}

}  // namespace attnserve::server

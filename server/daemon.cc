// RunDaemon (see daemon.h).
#include "server/daemon.h"

#include <chrono>
#include <cstdio>
#include <memory>

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "server/health.h"
#include "server/inference_service.h"
#include "server/metrics.h"

namespace attnserve::server {
namespace {

constexpr int kMaxReceiveMessageBytes = 64 << 20;  // long prompt_token_ids lists

std::unique_ptr<grpc::Server> StartGrpcServer(const ServerOptions& options,
                                              InferenceService& service, int* selected_port) {
  EnableHealthService();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(HostPort(options.host, options.port), grpc::InsecureServerCredentials(),
                           selected_port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(kMaxReceiveMessageBytes);
  builder.SetMaxSendMessageSize(-1);  // Score logits can be large; clients choose their limit
  return builder.BuildAndStart();
}

}  // namespace

int RunDaemon(const ServerOptions& options, const std::function<void()>& wait_for_stop) {
  PrometheusRequestObserver metrics;
  std::unique_ptr<MetricsExposer> exposer;
  if (options.metrics_port != 0) {
    auto started = MetricsExposer::Start(options.host, options.metrics_port, metrics.registry());
    if (!started.ok()) {
      std::fprintf(stderr, "attnserve: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    exposer = *std::move(started);
  }

  EngineOptions engine_options;
  engine_options.model_dir = options.model_dir;
  engine_options.num_threads = options.num_threads;
  engine_options.max_model_len = options.max_model_len;
  engine_options.max_waiting_requests = options.max_waiting_requests;
  engine_options.max_num_seqs = options.max_num_seqs;
  engine_options.max_num_batched_tokens = options.max_num_batched_tokens;
  engine_options.kv_cache_bytes = options.kv_cache_bytes;
  engine_options.served_model_name = options.served_model_name;
  engine_options.observer = &metrics;
  std::fprintf(stderr, "attnserve: loading model %s from %s\n", options.served_model_name.c_str(),
               options.model_dir.c_str());
  absl::StatusOr<std::unique_ptr<Engine>> loaded = Engine::Load(engine_options);
  if (!loaded.ok()) {
    std::fprintf(stderr, "attnserve: cannot load model from '%s': %s\n", options.model_dir.c_str(),
                 std::string(loaded.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<Engine> engine = *std::move(loaded);
  engine->Start();

  InferenceService service(*engine, &metrics);
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartGrpcServer(options, service, &port);
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "attnserve: cannot listen on %s\n",
                 HostPort(options.host, options.port).c_str());
    engine->Stop();
    return 1;
  }
  SetServing(*server, true);
  const ModelInfo& info = engine->info();
  std::fprintf(stderr,
               "attnserve: serving %s (%s, %u layers, vocab %u, context %u) on %s; metrics %s\n",
               options.served_model_name.c_str(), info.architecture.c_str(), info.num_layers,
               info.vocab_size, info.max_context, HostPort(options.host, port).c_str(),
               options.metrics_port == 0
                   ? "off"
                   : ("on http://" + HostPort(options.host, options.metrics_port) + "/metrics")
                         .c_str());

  wait_for_stop();

  std::fprintf(stderr, "attnserve: shutting down\n");
  ShutdownHealth(*server);
  const auto grace = std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double>(options.shutdown_grace_seconds));
  server->Shutdown(std::chrono::system_clock::now() + grace);
  server.reset();
  engine->Stop();
  engine.reset();
  std::fprintf(stderr, "attnserve: stopped\n");
  return 0;
}

}  // namespace attnserve::server

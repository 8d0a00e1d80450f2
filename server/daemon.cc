// RunDaemon (see daemon.h).
#include "server/daemon.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "engine/attention/attention_choice.h"
#include "server/access/access_control.h"
#include "engine/context/context_policy.h"
#include "server/chat_prompt.h"
#include "server/grpc_metrics_interceptor.h"
#include "server/http/http_server.h"
#include "server/http/http_tls.h"
#include "server/http/openai_api.h"
#include "server/health.h"
#include "server/inference_service.h"
#include "server/metrics.h"
#include "server/tls/server_tls.h"

namespace attnserve::server {
namespace {

int Milliseconds(double seconds) { return static_cast<int>(seconds * 1000); }

std::unique_ptr<grpc::Server> StartGrpcServer(const ServerOptions& options,
                                              InferenceService& service,
                                              PrometheusRequestObserver* metrics,
                                              const ServerTls* tls, int* selected_port) {
  EnableHealthService();
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(HostPort(options.host, options.port),
                           tls != nullptr ? tls->credentials() : grpc::InsecureServerCredentials(),
                           selected_port);
  builder.RegisterService(&service);
  builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_message_bytes));
  // Connection limits and keepalive enforcement (docs/reliability.md).
  if (options.max_streams_per_connection > 0) {
    builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, options.max_streams_per_connection);
  }
  if (options.keepalive_time_s > 0) {
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, Milliseconds(options.keepalive_time_s));
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Milliseconds(options.keepalive_timeout_s));
  }
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             Milliseconds(options.min_client_ping_interval_s));
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.SetMaxSendMessageSize(-1);  // Score logits can be large; clients choose their limit
  if (auto factory = MakeGrpcMetricsInterceptorFactory(metrics)) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> creators;
    creators.push_back(std::move(factory));
    builder.experimental().SetInterceptorCreators(std::move(creators));
  }
  return builder.BuildAndStart();
}

EngineOptions ToEngineOptions(const ServerOptions& options, RequestObserver* observer) {
  EngineOptions e;
  e.model_dir = options.model_dir;
  e.served_model_name = options.served_model_name;
  e.num_threads = options.num_threads;
  e.max_model_len = options.max_model_len;
  e.max_waiting_requests = options.max_waiting_requests;
  e.max_num_seqs = options.max_num_seqs;
  e.max_num_batched_tokens = options.max_num_batched_tokens;
  e.kv_cache_bytes = options.kv_cache_bytes;
  e.kv_cache_memory_fraction = options.kv_cache_memory_fraction;
  e.block_size = options.block_size;
  e.enable_prefix_caching = options.enable_prefix_caching;
  e.max_queue_time_s = options.max_queue_time_s;
  e.reject_unmeetable_deadlines = options.reject_unmeetable_deadlines;
  e.attention = ParseAttentionChoice(options.attention).value_or(AttentionChoice{});  // validated with the flags
  e.context_policy = ParseContextPolicyChoice(options.context_policy).value_or(ContextPolicyChoice{});
  e.expert_shards = options.expert_shards;
  e.expert_placement = options.expert_placement;
  e.quantize_activations = options.quantize_activations;
  e.device = options.device;
  if (!options.weight_dtype.empty()) e.weight_dtype = ParseDType(options.weight_dtype);  // validated with the flags
  e.observer = observer;
  return e;
}

// The drain (see daemon.h): returns once the engine is idle, the timeout has passed or a second
// stop request came. Polls Idle() every 20 ms while waiting for that second request.
void Drain(Engine& engine, double timeout_s, const WaitForSignal& wait_for_signal,
           const std::function<void()>& reload) {
  engine.BeginDrain();
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(timeout_s));
  std::fprintf(stderr, "attnserve: draining: new requests are refused; waiting up to %.1f s for "
               "%lld running and %lld waiting requests\n",
               timeout_s, static_cast<long long>(engine.CurrentStatus().num_running),
               static_cast<long long>(engine.CurrentStatus().num_waiting));
  while (!engine.Idle()) {
    if (std::chrono::steady_clock::now() >= end) {
      const Engine::Status_ load = engine.CurrentStatus();
      std::fprintf(stderr, "attnserve: drain timeout (--drain_timeout=%g) passed; cancelling %lld "
                   "running and %lld waiting requests\n", timeout_s,
                   static_cast<long long>(load.num_running),
                   static_cast<long long>(load.num_waiting));
      return;
    }
    const DaemonSignal signal = wait_for_signal(std::chrono::milliseconds(20));
    if (signal == DaemonSignal::kReload) reload();
    if (signal == DaemonSignal::kStop) {
      std::fprintf(stderr, "attnserve: second stop signal; cancelling what is left\n");
      return;
    }
  }
  std::fprintf(stderr, "attnserve: drained in %.2f s\n",
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

// Waits up to `grace_s` for open Generate/Score calls to write their last messages, then shuts the
// server down. gRPC's own Shutdown(deadline) would also wait out the deadline for idle client
// connections, so it gets only a short tail for calls that are not counted (quick unary ones).
void StopGrpcServer(grpc::Server& server, OpenCalls& open_calls, double grace_s) {
  constexpr auto kTail = std::chrono::milliseconds(100);
  const auto grace = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(grace_s));
  if (!open_calls.WaitForNone(std::chrono::steady_clock::now() + grace)) {
    std::fprintf(stderr, "attnserve: %lld calls still open after --shutdown_grace_seconds=%g; "
                 "cancelling them\n", static_cast<long long>(open_calls.count()), grace_s);
  }
  server.Shutdown(std::chrono::system_clock::now() + kTail);
}

}  // namespace

int RunDaemon(const ServerOptions& options, const WaitForSignal& wait_for_signal) {
  if (absl::Status valid = ValidateServerOptions(options); !valid.ok()) {
    std::fprintf(stderr, "attnserve: %s\n", std::string(valid.message()).c_str());
    return 1;
  }
  absl::StatusOr<std::unique_ptr<AccessControl>> access = AccessControl::Create(
      {options.api_key, options.api_keys_file, {options.max_prompt_tokens, options.max_tokens_cap}});
  if (!access.ok()) {
    std::fprintf(stderr, "attnserve: %s\n", std::string(access.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<ServerTls> tls;
  if (!options.tls_cert.empty()) {
    absl::StatusOr<std::unique_ptr<ServerTls>> created =
        ServerTls::Create({options.tls_cert, options.tls_key, options.tls_client_ca});
    if (!created.ok()) {
      std::fprintf(stderr, "attnserve: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    tls = *std::move(created);
  }
  std::unique_ptr<http::HttpTls> http_tls;  // the same files on the OpenAI HTTP API
  if (!options.tls_cert.empty() && options.http_port != 0) {
    absl::StatusOr<std::unique_ptr<http::HttpTls>> created =
        http::HttpTls::Create({options.tls_cert, options.tls_key, options.tls_client_ca});
    if (!created.ok()) {
      std::fprintf(stderr, "attnserve: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    http_tls = *std::move(created);
  }
  // SIGHUP: TLS files and keys file again; a bad file keeps the old one (never a dropped stream).
  const std::function<void()> reload = [&] {
    if (tls != nullptr) {
      absl::Status s = tls->Reload();
      std::fprintf(stderr, "attnserve: SIGHUP: TLS files %s\n",
                   s.ok() ? "reloaded" : ("kept: " + std::string(s.message())).c_str());
    }
    if (http_tls != nullptr) {
      absl::Status s = http_tls->Reload();
      std::fprintf(stderr, "attnserve: SIGHUP: HTTP TLS files %s\n",
                   s.ok() ? "reloaded" : ("kept: " + std::string(s.message())).c_str());
    }
    if (!options.api_keys_file.empty()) {
      absl::Status s = (*access)->Reload();
      std::fprintf(stderr, "attnserve: SIGHUP: API keys %s\n",
                   s.ok() ? "reloaded" : ("kept: " + std::string(s.message())).c_str());
    }
  };
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

  // The HTTP API listens before the model loads, so probes see "loading" (503) meanwhile.
  http::OpenAiApi http_api(http::OpenAiApiOptions{options.served_model_name, access->get()}, &metrics);
  std::unique_ptr<http::HttpServer> http_server;
  if (options.http_port != 0) {
    http::HttpServerOptions http_options;
    http_options.host = options.host;
    http_options.port = options.http_port;
    http_options.max_body_bytes = static_cast<uint64_t>(options.http_max_body_bytes);
    http_options.tls = http_tls.get();
    auto started = http::HttpServer::Start(http_options, &http_api);
    if (!started.ok()) {
      std::fprintf(stderr, "attnserve: --http_port: %s\n", std::string(started.status().message()).c_str());
      return 1;
    }
    http_server = *std::move(started);
  }

  const EngineOptions engine_options = ToEngineOptions(options, &metrics);
  std::fprintf(stderr, "attnserve: loading model %s from %s\n", options.served_model_name.c_str(),
               options.model_dir.c_str());
  absl::StatusOr<std::unique_ptr<Engine>> loaded = Engine::Load(engine_options);
  if (!loaded.ok()) {
    std::fprintf(stderr, "attnserve: cannot load model from '%s': %s\n", options.model_dir.c_str(),
                 std::string(loaded.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<Engine> engine = *std::move(loaded);
  absl::StatusOr<std::unique_ptr<ChatPrompt>> chat =
      ChatPrompt::Load(options.model_dir, options.chat_template, engine->tokenizer());
  if (!chat.ok()) {
    std::fprintf(stderr, "attnserve: chat template of '%s': %s\n", options.model_dir.c_str(),
                 std::string(chat.status().message()).c_str());
    return 1;
  }
  engine->Start();

  InferenceService service(*engine, &metrics, chat->get(), access->get());
  int port = 0;
  std::unique_ptr<grpc::Server> server = StartGrpcServer(options, service, &metrics, tls.get(), &port);
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "attnserve: cannot listen on %s\n",
                 HostPort(options.host, options.port).c_str());
    engine->Stop();
    return 1;
  }
  SetServing(*server, true);
  http_api.SetEngine(engine.get(), chat->get());
  const ModelInfo& info = engine->info();
  std::fprintf(stderr,
               "attnserve: serving %s (%s, %u layers, vocab %u, context %u%s) on %s; metrics %s; "
               "OpenAI HTTP API %s\n",
               options.served_model_name.c_str(), info.architecture.c_str(), info.num_layers,
               info.vocab_size, info.max_context, *chat ? ", chat template" : "",
               HostPort(options.host, port).c_str(),
               options.metrics_port == 0
                   ? "off"
                   : ("on http://" + HostPort(options.host, options.metrics_port) + "/metrics")
                         .c_str(),
               http_server == nullptr
                   ? "off"
                   : ((http_tls != nullptr ? "on https://" : "on http://") +
                      HostPort(options.host, http_server->port()) + "/v1")
                         .c_str());

  std::fprintf(stderr, "attnserve: gRPC %s; API keys %s\n",
               tls == nullptr ? "plaintext" : tls->requires_client_certificate() ? "TLS with client certificates (mTLS)" : "TLS",
               (*access)->requires_key() ? (options.api_keys_file.empty() ? "required (--api_key)" : "required (--api_keys_file)") : "off");
  for (DaemonSignal signal = DaemonSignal::kTimeout; signal != DaemonSignal::kStop;) {
    signal = wait_for_signal(std::chrono::hours(1));
    if (signal == DaemonSignal::kReload) reload();
  }

  std::fprintf(stderr, "attnserve: shutting down\n");
  ShutdownHealth(*server);  // NOT_SERVING at once: load balancers stop sending new work
  http_api.SetDraining();   // HTTP /health 503 likewise
  Drain(*engine, options.drain_timeout_s, wait_for_signal, reload);
  engine->Stop();  // requests still running end CANCELLED; their streams finish below
  const auto grace_end = std::chrono::steady_clock::now() +
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(options.shutdown_grace_seconds));
  StopGrpcServer(*server, service.open_calls(), options.shutdown_grace_seconds);
  if (http_server != nullptr) {
    http_api.open_calls().WaitForNone(grace_end);
    // The last events were queued by the engine thread; give the I/O threads a moment to write.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    http_server->Stop();
  }
  server.reset();
  http_server.reset();  // before the engine: exchanges must not outlive it
  engine.reset();
  exposer.reset();
  std::fprintf(stderr, "attnserve: stopped\n");
  return 0;
}

}  // namespace attnserve::server

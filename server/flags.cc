// Flag definitions for the attnserve daemon (see flags.h).
#include "server/flags.h"

#include <filesystem>

#include "absl/flags/flag.h"

#ifndef ATTNSERVE_DEFAULT_MODEL_DIR
#define ATTNSERVE_DEFAULT_MODEL_DIR ""
#endif

ABSL_FLAG(std::string, model, ATTNSERVE_DEFAULT_MODEL_DIR,
          "Model directory in Hugging Face layout: config.json, tokenizer.json, *.safetensors "
          "(optionally generation_config.json).");
ABSL_FLAG(std::string, host, "0.0.0.0", "Address the gRPC and metrics servers listen on.");
ABSL_FLAG(int32_t, port, 50051, "gRPC port (attnserve.v1.Inference, grpc.health.v1, reflection).");
ABSL_FLAG(int32_t, metrics_port, 9400,
          "HTTP port for Prometheus metrics at /metrics; 0 disables the endpoint.");
ABSL_FLAG(int32_t, num_threads, 0, "Compute threads for the CPU backend; 0 = all cores.");
ABSL_FLAG(uint32_t, max_model_len, 0,
          "Maximum prompt + output tokens per request; 0 = the model's max_position_embeddings.");
ABSL_FLAG(int32_t, max_waiting_requests, 1024,
          "Requests that may wait for scheduling; more are refused with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int32_t, max_num_seqs, 8, "Maximum sequences batched together in one engine step.");
ABSL_FLAG(int32_t, max_num_batched_tokens, 512,
          "Token budget of one engine step; longer prompts are prefilled in chunks of this size.");
ABSL_FLAG(int64_t, kv_cache_bytes, int64_t{2} << 30,
          "Memory for the KV cache across running sequences (bytes); must hold one full context.");
ABSL_FLAG(std::string, served_model_name, "",
          "Name the model is served under (GetModelInfo, logs; defaults to the model directory's name).");
ABSL_FLAG(double, shutdown_grace_seconds, 5,
          "On SIGINT/SIGTERM, how long in-flight calls may continue before they are cancelled.");

namespace attnserve::server {

ServerOptions ServerOptionsFromFlags() {
  ServerOptions o;
  o.model_dir = absl::GetFlag(FLAGS_model);
  o.host = absl::GetFlag(FLAGS_host);
  o.port = absl::GetFlag(FLAGS_port);
  o.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  o.num_threads = absl::GetFlag(FLAGS_num_threads);
  o.max_model_len = absl::GetFlag(FLAGS_max_model_len);
  o.max_waiting_requests = absl::GetFlag(FLAGS_max_waiting_requests);
  o.max_num_seqs = absl::GetFlag(FLAGS_max_num_seqs);
  o.max_num_batched_tokens = absl::GetFlag(FLAGS_max_num_batched_tokens);
  o.kv_cache_bytes = absl::GetFlag(FLAGS_kv_cache_bytes);
  o.served_model_name = absl::GetFlag(FLAGS_served_model_name);
  if (o.served_model_name.empty()) {
    std::filesystem::path p(o.model_dir);
    if (!p.has_filename()) p = p.parent_path();  // "models/foo/" -> "foo"
    o.served_model_name = p.filename().string();
  }
  o.shutdown_grace_seconds = absl::GetFlag(FLAGS_shutdown_grace_seconds);
  return o;
}

std::string HostPort(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace attnserve::server

// Command-line flags of the attnserve daemon (Abseil flags; `attnserve --help` is the reference)
// and the plain options struct the rest of the server reads them into.
#pragma once

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"

ABSL_DECLARE_FLAG(std::string, model);
ABSL_DECLARE_FLAG(std::string, host);
ABSL_DECLARE_FLAG(int32_t, port);
ABSL_DECLARE_FLAG(int32_t, metrics_port);
ABSL_DECLARE_FLAG(int32_t, num_threads);
ABSL_DECLARE_FLAG(uint32_t, max_model_len);
ABSL_DECLARE_FLAG(int32_t, max_waiting_requests);
ABSL_DECLARE_FLAG(std::string, served_model_name);
ABSL_DECLARE_FLAG(int32_t, max_num_seqs);
ABSL_DECLARE_FLAG(int32_t, max_num_batched_tokens);
ABSL_DECLARE_FLAG(int64_t, kv_cache_bytes);
ABSL_DECLARE_FLAG(double, shutdown_grace_seconds);

namespace attnserve::server {

struct ServerOptions {
  std::string model_dir;
  std::string host;
  int port = 50051;
  int metrics_port = 9400;            // 0 = no metrics endpoint
  int num_threads = 0;                // 0 = all cores
  uint32_t max_model_len = 0;         // 0 = the model's
  int32_t max_waiting_requests = 1024;
  int32_t max_num_seqs = 8;           // sequences batched per step
  int32_t max_num_batched_tokens = 512;  // tokens per step (prefill chunk size)
  int64_t kv_cache_bytes = int64_t{2} << 30;  // KV memory across running sequences
  std::string served_model_name;      // defaults to the model directory's name
  double shutdown_grace_seconds = 5;  // in-flight calls get this long on SIGTERM, then are cancelled
};

// Reads the flags (after absl::ParseCommandLine). Not thread-safe with flag mutation.
ServerOptions ServerOptionsFromFlags();

// "host:port" for gRPC / HTTP listeners, bracketing IPv6 literals.
std::string HostPort(const std::string& host, int port);

}  // namespace attnserve::server

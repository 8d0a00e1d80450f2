// Command-line flags of the attnserve daemon (Abseil flags; `attnserve --help` is the reference)
// and the plain options struct the rest of the server reads them into.
#pragma once

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/status.h"

ABSL_DECLARE_FLAG(std::string, model);
ABSL_DECLARE_FLAG(std::string, host);
ABSL_DECLARE_FLAG(int32_t, port);
ABSL_DECLARE_FLAG(int32_t, metrics_port);
ABSL_DECLARE_FLAG(int32_t, http_port);
ABSL_DECLARE_FLAG(int64_t, http_max_body_bytes);
ABSL_DECLARE_FLAG(std::string, api_key);
ABSL_DECLARE_FLAG(std::string, api_keys_file);
ABSL_DECLARE_FLAG(uint32_t, max_prompt_tokens);
ABSL_DECLARE_FLAG(uint32_t, max_tokens_cap);
ABSL_DECLARE_FLAG(int64_t, max_message_bytes);
ABSL_DECLARE_FLAG(int32_t, max_streams_per_connection);
ABSL_DECLARE_FLAG(double, keepalive_time);
ABSL_DECLARE_FLAG(double, keepalive_timeout);
ABSL_DECLARE_FLAG(double, min_client_ping_interval);
ABSL_DECLARE_FLAG(std::string, tls_cert);
ABSL_DECLARE_FLAG(std::string, tls_key);
ABSL_DECLARE_FLAG(std::string, tls_client_ca);
ABSL_DECLARE_FLAG(bool, reject_unmeetable_deadlines);
ABSL_DECLARE_FLAG(std::string, chat_template);
ABSL_DECLARE_FLAG(int32_t, num_threads);
ABSL_DECLARE_FLAG(uint32_t, max_model_len);
ABSL_DECLARE_FLAG(int32_t, max_waiting_requests);
ABSL_DECLARE_FLAG(std::string, served_model_name);
ABSL_DECLARE_FLAG(int32_t, max_num_seqs);
ABSL_DECLARE_FLAG(int32_t, max_num_batched_tokens);
ABSL_DECLARE_FLAG(int64_t, kv_cache_bytes);
ABSL_DECLARE_FLAG(double, kv_cache_memory_fraction);
ABSL_DECLARE_FLAG(int32_t, block_size);
ABSL_DECLARE_FLAG(bool, enable_prefix_caching);
ABSL_DECLARE_FLAG(double, max_queue_time);
ABSL_DECLARE_FLAG(double, drain_timeout);
ABSL_DECLARE_FLAG(double, shutdown_grace_seconds);
ABSL_DECLARE_FLAG(std::string, attention);
ABSL_DECLARE_FLAG(std::string, context_policy);
ABSL_DECLARE_FLAG(int32_t, expert_shards);
ABSL_DECLARE_FLAG(std::string, expert_placement);
ABSL_DECLARE_FLAG(std::string, weight_dtype);
ABSL_DECLARE_FLAG(bool, quantize_activations);
ABSL_DECLARE_FLAG(std::string, device);

namespace attnserve::server {

struct ServerOptions {
  std::string model_dir;
  std::string host;
  int port = 50051;
  int metrics_port = 9400;            // 0 = no metrics endpoint
  int http_port = 0;                  // OpenAI-compatible HTTP API; 0 = off
  int64_t http_max_body_bytes = int64_t{32} << 20;
  std::string api_key;                // "" = no authentication
  std::string api_keys_file;          // "" = --api_key alone (server/access/api_keys.h)
  uint32_t max_prompt_tokens = 0;     // 0 = no cap beyond the context
  uint32_t max_tokens_cap = 0;        // 0 = no cap
  int64_t max_message_bytes = int64_t{64} << 20;  // gRPC receive limit
  int32_t max_streams_per_connection = 256;       // 0 = gRPC's default
  double keepalive_time_s = 60;       // server pings after this much silence; 0 = never
  double keepalive_timeout_s = 20;
  double min_client_ping_interval_s = 10;  // keepalive enforcement
  std::string tls_cert;               // TLS (server/tls/server_tls.h); "" = plaintext
  std::string tls_key;
  std::string tls_client_ca;          // mTLS
  bool reject_unmeetable_deadlines = true;
  std::string chat_template;          // "" = the model's own
  int num_threads = 0;                // 0 = all cores
  uint32_t max_model_len = 0;         // 0 = the model's
  int32_t max_waiting_requests = 1024;
  int32_t max_num_seqs = 64;          // sequences batched per step
  int32_t max_num_batched_tokens = 512;  // tokens per step (prefill chunk size)
  int64_t kv_cache_bytes = int64_t{2} << 30;  // paged KV pool (when the fraction is 0)
  double kv_cache_memory_fraction = 0;  // > 0: KV pool = this fraction of physical memory
  int32_t block_size = 16;            // tokens per KV block
  bool enable_prefix_caching = true;
  double max_queue_time_s = 0;        // 0 = requests may wait for scheduling without limit
  std::string served_model_name;      // defaults to the model directory's name
  double drain_timeout_s = 30;        // SIGTERM: admitted requests get this long to finish
  double shutdown_grace_seconds = 5;  // then calls get this long to send their last messages
  std::string attention;              // default attention, "name[:key=value,...]"; "" = the model's
  std::string context_policy;         // default context policy, "kind[:key=value,...]"; "" = config.json
  int32_t expert_shards = 1;          // MoE: workers the experts are split over
  std::string expert_placement;       // MoE: JSON placement file ("" = contiguous)
  std::string weight_dtype;           // f32|bf16|f16|q8_0|q4_0 for the weight matrices; "" = the file's
  bool quantize_activations = true;   // q8_0/q4_0 decode: int8 activations (false: exact widening)
  std::string device = "cpu";         // compute backend (kernels/backend_registry.h)
};

// Checks ranges the engine cannot (or should not) see: an INVALID_ARGUMENT naming the flag.
absl::Status ValidateServerOptions(const ServerOptions& options);

// Reads the flags (after absl::ParseCommandLine). Not thread-safe with flag mutation.
ServerOptions ServerOptionsFromFlags();

// "host:port" for gRPC / HTTP listeners, bracketing IPv6 literals.
std::string HostPort(const std::string& host, int port);

}  // namespace attnserve::server

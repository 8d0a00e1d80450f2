// Flag definitions for the attnserve daemon (see flags.h).
#include "server/flags.h"

#include "engine/attention/attention_choice.h"
#include "engine/context/context_policy.h"
#include "kernels/dtype.h"
#include "server/tls/server_tls.h"

#include <cstdlib>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"

#ifndef ATTNSERVE_DEFAULT_MODEL_DIR
#define ATTNSERVE_DEFAULT_MODEL_DIR ""
#endif

ABSL_FLAG(std::string, model, ATTNSERVE_DEFAULT_MODEL_DIR,
          "Model: a directory in Hugging Face layout (config.json, tokenizer.json, *.safetensors, "
          "optionally generation_config.json and a chat template) or a GGUF file (*.gguf: "
          "architectures llama, qwen2, qwen2moe; its tokenizer and chat template come from its metadata). "
          "`demo` names the embedded demo model (the default when the flag is absent).");
ABSL_FLAG(std::string, host, "0.0.0.0", "Address the gRPC and metrics servers listen on.");
ABSL_FLAG(int32_t, port, 50051, "gRPC port (attnserve.v1.Inference, grpc.health.v1, reflection).");
ABSL_FLAG(int32_t, metrics_port, 9400,
          "HTTP port for Prometheus metrics at /metrics; 0 disables the endpoint.");
ABSL_FLAG(int32_t, http_port, 0,
          "Port of the OpenAI-compatible HTTP API (/v1/completions, /v1/chat/completions, "
          "/v1/models, /tokenize, /detokenize, /health, /metrics); 0 = off.");
ABSL_FLAG(int64_t, http_max_body_bytes, int64_t{32} << 20,
          "Largest HTTP request body accepted; larger ones get 413.");
ABSL_FLAG(std::string, api_key, "",
          "When set, API calls must send \"Authorization: Bearer <key>\": HTTP /v1/*, /tokenize, "
          "/detokenize, and gRPC attnserve.v1.Inference (health, reflection and /metrics stay "
          "open). Also read from $ATTNSERVE_API_KEY when the flag is empty.");
ABSL_FLAG(std::string, api_keys_file, "",
          "JSON file of API keys with names and limits (docs/reliability.md): {\"keys\": [{\"name\", "
          "\"key\" or \"key_sha256\", \"requests_per_minute\", \"burst\", \"max_concurrent_streams\", "
          "\"max_prompt_tokens\", \"max_tokens\", \"disabled\"}]}. Replaces --api_key; re-read on SIGHUP.");
ABSL_FLAG(uint32_t, max_prompt_tokens, 0,
          "Longest prompt (tokens) a request may send; longer ones get INVALID_ARGUMENT. 0 = the context.");
ABSL_FLAG(uint32_t, max_tokens_cap, 0,
          "Largest max_tokens a request may ask for (INVALID_ARGUMENT above it; requests that do not "
          "set max_tokens are lowered to it). 0 = no cap.");
ABSL_FLAG(int64_t, max_message_bytes, int64_t{64} << 20,
          "Largest gRPC request message accepted; larger ones get RESOURCE_EXHAUSTED.");
ABSL_FLAG(int32_t, max_streams_per_connection, 256,
          "Concurrent gRPC calls per client connection (HTTP/2 MAX_CONCURRENT_STREAMS); more wait on "
          "the client side. 0 = gRPC's default (unlimited).");
ABSL_FLAG(double, keepalive_time, 60,
          "Seconds of silence on a gRPC connection before the server pings it; a client that does "
          "not answer within --keepalive_timeout is disconnected. 0 = no server pings.");
ABSL_FLAG(double, keepalive_timeout, 20, "Seconds the server waits for a keepalive ping's answer.");
ABSL_FLAG(double, min_client_ping_interval, 10,
          "Clients pinging more often than this (seconds) get a strike; two strikes close the "
          "connection with GOAWAY (too_many_pings), as gRPC's keepalive enforcement does.");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate chain: serve gRPC (and the --http_port API) over TLS (with --tls_key). "
          "Re-read on SIGHUP.");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert. Re-read on SIGHUP.");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA bundle: require client certificates signed by it (mTLS). Re-read on SIGHUP.");
ABSL_FLAG(bool, reject_unmeetable_deadlines, true,
          "Refuse at once (RESOURCE_EXHAUSTED with retry-after) a request whose deadline would pass "
          "while it waits, by the engine's recent admission rate, instead of queueing it to fail.");
ABSL_FLAG(std::string, chat_template, "",
          "A Jinja chat template file to use instead of the model's own (tokenizer_config.json "
          "chat_template); checked at start-up.");
ABSL_FLAG(int32_t, num_threads, 0, "Compute threads for the CPU backend; 0 = all cores.");
ABSL_FLAG(uint32_t, max_model_len, 0,
          "Maximum prompt + output tokens per request; 0 = the model's max_position_embeddings. "
          "Requests under the model's own positions stay within max_position_embeddings; a context "
          "policy that extrapolates (none, dynamic_ntk, sinks, or factor x original length) may reach this.");
ABSL_FLAG(int32_t, max_waiting_requests, 1024,
          "Requests that may wait for scheduling; more are refused with RESOURCE_EXHAUSTED.");
ABSL_FLAG(int32_t, max_num_seqs, 64, "Maximum sequences batched together in one engine step.");
ABSL_FLAG(int32_t, max_num_batched_tokens, 512,
          "Token budget of one engine step; longer prompts are prefilled in chunks of this size.");
ABSL_FLAG(int64_t, kv_cache_bytes, int64_t{2} << 30,
          "Size of the paged KV-cache pool in bytes, shared by all sequences; must hold one full "
          "context. Used when --kv_cache_memory_fraction is 0.");
ABSL_FLAG(double, kv_cache_memory_fraction, 0,
          "Size the KV-cache pool as this fraction (0, 1) of the machine's physical memory, "
          "instead of --kv_cache_bytes; 0 = use --kv_cache_bytes.");
ABSL_FLAG(int32_t, block_size, 16,
          "Tokens per KV-cache block: the unit of KV allocation and of prefix-cache reuse.");
ABSL_FLAG(bool, enable_prefix_caching, true,
          "Reuse the KV blocks of prompt prefixes seen before (whole blocks of identical tokens); "
          "--enable_prefix_caching=false turns it off.");
ABSL_FLAG(double, max_queue_time, 0,
          "Seconds a request may wait for scheduling; longer waits end it with DEADLINE_EXCEEDED. "
          "0 = no limit.");
ABSL_FLAG(std::string, attention, "",
          "Default attention backend for requests that do not choose one: name[:key=value,...], e.g. "
          "sliding_window:window=512 or bigbird:block_size=64,random_blocks=2,seed=7 or "
          "performer:num_features=256,full_every=4 (keep the model's attention every 4th layer). "
          "Empty = the model's own attention. GetModelInfo lists the backends and their parameters.");
ABSL_FLAG(std::string, context_policy, "",
          "Default context policy for requests that do not choose one: kind[:key=value,...], e.g. "
          "yarn:factor=4,original_max_position_embeddings=4096 or dynamic_ntk:factor=2 or "
          "sinks:sink_tokens=4,window=1020 (longrope lists: short_factor=1/1.2/...). Kinds: model_default, "
          "none, linear, ntk, dynamic_ntk, yarn, llama3, longrope, alibi, sinks. Empty = config.json's rope_scaling.");
ABSL_FLAG(int32_t, expert_shards, 1,
          "Mixture-of-Experts models: split the experts of every MoE layer over this many workers "
          "(threads with their own share of the cores), contiguously unless --expert_placement says "
          "otherwise. Results are identical for any value.");
ABSL_FLAG(std::string, expert_placement, "",
          "Mixture-of-Experts models: JSON file {\"shards\": [[experts of shard 0], [experts of shard 1], ...]} "
          "placing every expert on exactly one shard (same for every MoE layer).");
ABSL_FLAG(std::string, weight_dtype, "",
          "dtype the weight matrices are held and multiplied in: f32, bf16, f16, q8_0, q4_0, q4_1, q5_0 or q5_1 "
          "(block formats quantized at load); empty = each tensor's file dtype, memory-mapped.");
ABSL_FLAG(std::string, device, "cpu",
          "Compute backend: cpu (AVX2+FMA, OpenMP) or reference (naive single-threaded oracle, for "
          "debugging); cuda:N with the CUDA backend.");
ABSL_FLAG(bool, quantize_activations, true,
          "With block-format weights (q8_0, q4_*, q5_*): decode multiplies activations quantized to int8 blocks, as "
          "llama.cpp does (faster); false = exactly dequantized weights with f32 activations.");
ABSL_FLAG(std::string, served_model_name, "",
          "Name the model is served under (GetModelInfo, logs; defaults to the model directory's name).");
ABSL_FLAG(double, drain_timeout, 30,
          "On SIGTERM/SIGINT, seconds to drain: health turns NOT_SERVING at once and new "
          "Generate/Score calls get UNAVAILABLE, while admitted and queued requests finish; what "
          "is still running after this is cancelled. A second signal ends the drain at once.");
ABSL_FLAG(double, shutdown_grace_seconds, 5,
          "After the drain, seconds open streams get to send their last messages before they are "
          "cancelled.");

namespace attnserve::server {

ServerOptions ServerOptionsFromFlags() {
  ServerOptions o;
  o.model_dir = absl::GetFlag(FLAGS_model);
  if (o.model_dir == "demo") o.model_dir = ATTNSERVE_DEFAULT_MODEL_DIR;  // the embedded offline model
  o.host = absl::GetFlag(FLAGS_host);
  o.port = absl::GetFlag(FLAGS_port);
  o.metrics_port = absl::GetFlag(FLAGS_metrics_port);
  o.http_port = absl::GetFlag(FLAGS_http_port);
  o.http_max_body_bytes = absl::GetFlag(FLAGS_http_max_body_bytes);
  o.api_key = absl::GetFlag(FLAGS_api_key);
  if (o.api_key.empty()) {
    if (const char* env = std::getenv("ATTNSERVE_API_KEY")) o.api_key = env;
  }
  o.api_keys_file = absl::GetFlag(FLAGS_api_keys_file);
  o.max_prompt_tokens = absl::GetFlag(FLAGS_max_prompt_tokens);
  o.max_tokens_cap = absl::GetFlag(FLAGS_max_tokens_cap);
  o.max_message_bytes = absl::GetFlag(FLAGS_max_message_bytes);
  o.max_streams_per_connection = absl::GetFlag(FLAGS_max_streams_per_connection);
  o.keepalive_time_s = absl::GetFlag(FLAGS_keepalive_time);
  o.keepalive_timeout_s = absl::GetFlag(FLAGS_keepalive_timeout);
  o.min_client_ping_interval_s = absl::GetFlag(FLAGS_min_client_ping_interval);
  o.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  o.tls_key = absl::GetFlag(FLAGS_tls_key);
  o.tls_client_ca = absl::GetFlag(FLAGS_tls_client_ca);
  o.reject_unmeetable_deadlines = absl::GetFlag(FLAGS_reject_unmeetable_deadlines);
  o.chat_template = absl::GetFlag(FLAGS_chat_template);
  o.num_threads = absl::GetFlag(FLAGS_num_threads);
  o.max_model_len = absl::GetFlag(FLAGS_max_model_len);
  o.max_waiting_requests = absl::GetFlag(FLAGS_max_waiting_requests);
  o.max_num_seqs = absl::GetFlag(FLAGS_max_num_seqs);
  o.max_num_batched_tokens = absl::GetFlag(FLAGS_max_num_batched_tokens);
  o.kv_cache_bytes = absl::GetFlag(FLAGS_kv_cache_bytes);
  o.kv_cache_memory_fraction = absl::GetFlag(FLAGS_kv_cache_memory_fraction);
  o.block_size = absl::GetFlag(FLAGS_block_size);
  o.enable_prefix_caching = absl::GetFlag(FLAGS_enable_prefix_caching);
  o.max_queue_time_s = absl::GetFlag(FLAGS_max_queue_time);
  o.served_model_name = absl::GetFlag(FLAGS_served_model_name);
  if (o.served_model_name.empty()) {
    std::filesystem::path p(o.model_dir);
    if (!p.has_filename()) p = p.parent_path();  // "models/foo/" -> "foo"
    // "models/foo.gguf" -> "foo"
    o.served_model_name = p.extension() == ".gguf" ? p.stem().string() : p.filename().string();
  }
  o.drain_timeout_s = absl::GetFlag(FLAGS_drain_timeout);
  o.shutdown_grace_seconds = absl::GetFlag(FLAGS_shutdown_grace_seconds);
  o.attention = absl::GetFlag(FLAGS_attention);
  o.context_policy = absl::GetFlag(FLAGS_context_policy);
  o.expert_shards = absl::GetFlag(FLAGS_expert_shards);
  o.expert_placement = absl::GetFlag(FLAGS_expert_placement);
  o.weight_dtype = absl::GetFlag(FLAGS_weight_dtype);
  o.quantize_activations = absl::GetFlag(FLAGS_quantize_activations);
  o.device = absl::GetFlag(FLAGS_device);
  return o;
}

absl::Status ValidateServerOptions(const ServerOptions& o) {
  auto bad = [](const std::string& flag, const std::string& value, const char* want) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", value, " is invalid: must be ", want));
  };
  // !(x >= 0) also rejects NaN.
  if (!(o.kv_cache_memory_fraction >= 0 && o.kv_cache_memory_fraction < 1)) {
    return bad("kv_cache_memory_fraction", absl::StrCat(o.kv_cache_memory_fraction),
               "in [0, 1) (0 = use --kv_cache_bytes)");
  }
  if (o.port < 0 || o.port > 65535) return bad("port", absl::StrCat(o.port), "in [0, 65535]");
  if (o.metrics_port < 0 || o.metrics_port > 65535) {
    return bad("metrics_port", absl::StrCat(o.metrics_port), "in [0, 65535] (0 = no /metrics endpoint)");
  }
  if (o.num_threads < 0 || o.num_threads > 4096) {
    return bad("num_threads", absl::StrCat(o.num_threads), "in [0, 4096] (0 = all cores)");
  }
  if (o.http_port < 0 || o.http_port > 65535) {
    return bad("http_port", absl::StrCat(o.http_port), "in [0, 65535] (0 = no HTTP API)");
  }
  if (o.http_port != 0 && (o.http_port == o.port || o.http_port == o.metrics_port)) {
    return bad("http_port", absl::StrCat(o.http_port), "different from --port and --metrics_port");
  }
  if (o.http_max_body_bytes < 1024) {
    return bad("http_max_body_bytes", absl::StrCat(o.http_max_body_bytes), ">= 1024");
  }
  if (o.block_size < 1 || o.block_size > 1024) {
    return bad("block_size", absl::StrCat(o.block_size), "in [1, 1024] tokens");
  }
  if (!(o.max_queue_time_s >= 0)) {
    return bad("max_queue_time", absl::StrCat(o.max_queue_time_s), ">= 0 seconds (0 = no limit)");
  }
  if (!(o.drain_timeout_s >= 0)) {
    return bad("drain_timeout", absl::StrCat(o.drain_timeout_s), ">= 0 seconds");
  }
  if (!(o.shutdown_grace_seconds >= 0)) {
    return bad("shutdown_grace_seconds", absl::StrCat(o.shutdown_grace_seconds), ">= 0 seconds");
  }
  if (o.max_message_bytes < 1024 || o.max_message_bytes > (int64_t{1} << 31) - 1) {
    return bad("max_message_bytes", absl::StrCat(o.max_message_bytes), "in [1024, 2^31) bytes");
  }
  if (o.max_streams_per_connection < 0) {
    return bad("max_streams_per_connection", absl::StrCat(o.max_streams_per_connection), ">= 0 (0 = unlimited)");
  }
  if (!(o.keepalive_time_s >= 0)) return bad("keepalive_time", absl::StrCat(o.keepalive_time_s), ">= 0 seconds");
  if (!(o.keepalive_timeout_s > 0)) {
    return bad("keepalive_timeout", absl::StrCat(o.keepalive_timeout_s), "> 0 seconds");
  }
  if (!(o.min_client_ping_interval_s >= 0)) {
    return bad("min_client_ping_interval", absl::StrCat(o.min_client_ping_interval_s), ">= 0 seconds");
  }
  if (!o.api_key.empty() && !o.api_keys_file.empty()) {
    return absl::InvalidArgumentError(
        "--api_key (or $ATTNSERVE_API_KEY) and --api_keys_file: give one (the file can list that key too)");
  }
  if (absl::Status tls = ValidateTlsFiles(TlsFiles{o.tls_cert, o.tls_key, o.tls_client_ca}); !tls.ok()) {
    return tls;
  }
  if (!o.weight_dtype.empty() && !ParseDType(o.weight_dtype)) {
    return bad("weight_dtype", o.weight_dtype, "one of f32, bf16, f16, q8_0, q4_0, q4_1, q5_0, q5_1 (empty = the file's dtype)");
  }
  if (absl::StatusOr<AttentionChoice> a = ParseAttentionChoice(o.attention); !a.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--attention=", o.attention, ": ", a.status().message()));
  }
  if (absl::StatusOr<ContextPolicyChoice> p = ParseContextPolicyChoice(o.context_policy); !p.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--context_policy=", o.context_policy, ": ", p.status().message()));
  }
  return absl::OkStatus();
}

std::string HostPort(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace attnserve::server

// attnserve-cli subcommands: each talks to one attnserve daemon over the public API and returns the
// process exit code (0, or 1 after printing a non-OK status to stderr). Generated text goes to
// stdout as it streams; everything else about a call (usage, finish, logprobs) to stderr.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attnserve/v1/inference.grpc.pb.h"

namespace attnserve::cli {

struct CallOptions {
  std::optional<std::chrono::milliseconds> timeout;  // client deadline per call
};

struct GenerateOptions {
  uint32_t max_tokens = 16;
  float temperature = 1.0f;
  float top_p = 1.0f;
  int32_t top_k = 0;
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  std::vector<int32_t> stop_token_ids;
  bool ignore_eos = false;
  int32_t logprobs = -1;  // <0 off; 0 the sampled token's logprob; N>0 plus N alternatives
  v1::AttentionConfig attention;  // per-request attention (backend "" = server default)
  v1::ContextPolicy context_policy;  // per-request positions (kind "" = server default)
};

// A GenerateRequest with the sampling, stop, attention and context-policy options set (no
// prompt or messages, no logprobs): shared by generate and chat.
v1::GenerateRequest RequestWithOptions(const GenerateOptions& options);
int Generate(v1::Inference::Stub& stub, const CallOptions& call, const std::string& prompt,
             const GenerateOptions& options);
// Exactly one of `text` / `ids` is non-empty.
int Score(v1::Inference::Stub& stub, const CallOptions& call, const std::string& text,
          const std::vector<int32_t>& ids, const v1::AttentionConfig& attention,
          const v1::ContextPolicy& context_policy);
int Tokenize(v1::Inference::Stub& stub, const CallOptions& call, const std::string& text);
int Detokenize(v1::Inference::Stub& stub, const CallOptions& call, const std::vector<int32_t>& ids);
int Info(v1::Inference::Stub& stub, const CallOptions& call);
// Prints GetServerStatus (load, KV usage, prefix cache, throughput).
int Status(v1::Inference::Stub& stub, const CallOptions& call);

// "1,2, 3" -> {1, 2, 3}; nullopt on anything that is not a comma-separated int32 list.
std::optional<std::vector<int32_t>> ParseIds(const std::string& text);

}  // namespace attnserve::cli

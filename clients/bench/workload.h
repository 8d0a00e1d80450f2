// Workload: the list of GenerateRequests one benchmark run sends, built up front and reproducibly
// from a seed (vLLM benchmark_serving's "random" and "prefix" datasets, plus a text-file source).
//
//   random ids:  prompt = [prefix k of K (shared_prefix_len ids)] + [input_len random ids]
//   text file:   prompt = one line of the file (picked by the seeded RNG), sent as text
//
// Every request has ignore_eos set, so the server produces exactly max_tokens tokens (unless it
// hits the model's context), and greedy or seeded sampling as configured.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "attnserve/v1/inference.grpc.pb.h"
#include "clients/bench/length_distribution.h"

namespace attnserve::bench {

struct WorkloadOptions {
  LengthDistribution input_len = LengthDistribution::Fixed(128);   // random part of the prompt
  LengthDistribution output_len = LengthDistribution::Fixed(128);  // max_tokens
  uint32_t shared_prefix_len = 0;  // tokens of a shared prefix in front of each prompt; 0 = none
  uint32_t num_prefixes = 1;       // distinct shared prefixes (each request picks one at random)
  std::vector<std::string> prompt_lines;  // non-empty: text prompts instead of random ids
  float temperature = 0;
  bool logprobs = false;  // ask for each sampled token's logprob
  uint64_t seed = 0;  // workload RNG; sampling seed of request i is seed + i
  // Random ids are drawn uniformly from [token_id_low, token_id_high), skipping `excluded_ids`.
  int32_t token_id_low = 0;
  int32_t token_id_high = 1;
  std::vector<int32_t> excluded_ids;  // BOS / EOS: keep random prompts free of special tokens
};

// The default id range for a vocabulary: [min(100, vocab/10), vocab*9/10) — clear of the special
// tokens that tokenizers put at either end of the vocabulary.
void SetDefaultTokenIdRange(uint32_t vocab_size, WorkloadOptions* options);

// `count` requests; `id_prefix` + index names each one (request_id).
std::vector<v1::GenerateRequest> BuildWorkload(const WorkloadOptions& options, size_t count,
                                               const std::string& id_prefix);

// Non-empty lines of a text file ("\n" inside a line is unescaped to a newline). nullopt when the
// file cannot be read.
std::optional<std::vector<std::string>> ReadPromptLines(const std::string& path);

}  // namespace attnserve::bench

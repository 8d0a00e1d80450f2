// AttentionChoice: the attention a deployment (--attention) or a request (the `attention` field
// of GenerateRequest / ScoreRequest) asks for, before it is validated against the registry
// (attention_registry.h). Unset parameters take the chosen backend's default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

struct AttentionChoice {
  std::string backend;  // registry name; "" = not chosen (deployment / model default)
  std::optional<int64_t> window;
  std::optional<int64_t> sink_tokens;
  std::optional<int64_t> segment_length;
  std::optional<int64_t> memory_segments;
  std::optional<int64_t> global_tokens;
  std::vector<int64_t> global_positions;
  std::optional<int64_t> block_size;
  std::optional<int64_t> window_blocks;
  std::optional<int64_t> global_blocks;
  std::optional<int64_t> random_blocks;
  std::optional<uint64_t> seed;
  std::optional<int64_t> top_k_blocks;
  std::optional<int64_t> num_features;
  std::optional<int64_t> full_every;

  // True when nothing at all is set (not even a parameter).
  bool empty() const;
};

// The names of the parameters set in `choice`, in declaration order (for "does not apply" errors).
std::vector<std::string> SetParameterNames(const AttentionChoice& choice);

// Parses the --attention flag: "name" or "name:key=value,key=value" with the AttentionConfig field
// names, e.g. "bigbird:block_size=64,random_blocks=2,seed=7" or "sliding_window:window=512,full_every=4";
// global_positions take '+'-separated values ("global_positions=3+17"). Errors name the key.
absl::StatusOr<AttentionChoice> ParseAttentionChoice(std::string_view text);

// Inverse of ParseAttentionChoice (only set fields; "" for an empty choice).
std::string FormatAttentionChoice(const AttentionChoice& choice);

}  // namespace attnserve

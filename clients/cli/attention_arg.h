// The --attention and --context_policy syntax of the clients, "name" or "name:key=value,key=value" with the field names
// of attnserve.v1.AttentionConfig (e.g. "bigbird:block_size=64,random_blocks=2,seed=7";
// global_positions as "global_positions=3+17"), parsed into the proto by reflection so every
// field of the message is accepted without a hand-kept list. The server validates the values.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/inference.pb.h"

namespace attnserve::cli {

absl::StatusOr<v1::AttentionConfig> ParseAttentionArg(const std::string& text);

// --context_policy: "kind" or "kind:key=value,..." with attnserve.v1.ContextPolicy's field names
// (e.g. "yarn:factor=4,original_max_position_embeddings=256"; list fields as "short_factor=1/1.5").
absl::StatusOr<v1::ContextPolicy> ParseContextPolicyArg(const std::string& text);

// "a;b;c" -> {"a", "b", "c"} (attention choices contain commas, so lists use ';').
std::vector<std::string> SplitChoices(const std::string& text);

}  // namespace attnserve::cli

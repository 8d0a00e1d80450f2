// The --attention syntax of the clients, "name" or "name:key=value,key=value" with the field names
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

// "a;b;c" -> {"a", "b", "c"} (attention choices contain commas, so lists use ';').
std::vector<std::string> SplitChoices(const std::string& text);

}  // namespace attnserve::cli

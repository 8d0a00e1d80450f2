// Which *.safetensors files make up a model directory:
//   1. model.safetensors.index.json present -> the distinct shards of its "weight_map" (sharded checkpoint);
//   2. otherwise every *.safetensors file in the directory (sorted by name).
// Pure directory inspection; nothing is mapped here. Thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace attnserve {

struct ModelFiles {
  std::vector<std::string> files;  // full paths, sorted, no duplicates
  std::string index_path;          // the index.json used, or empty
  // From the index: tensor name -> full path of the shard that must hold it (empty without index).
  std::map<std::string, std::string> weight_map;
};

// NOT_FOUND when `model_dir` is missing, has no weights ("no *.safetensors weights in <dir>"), or its
// index names a shard that does not exist (the message names the index and the shard);
// INVALID_ARGUMENT when the index is not valid JSON with a {"weight_map": {tensor: shard}} object.
absl::StatusOr<ModelFiles> FindModelFiles(const std::string& model_dir);

}  // namespace attnserve

// FindModelFiles: resolves a model directory to its safetensors files (index.json or directory scan).
#include "engine/loader/model_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

namespace fs = std::filesystem;

constexpr char kIndexName[] = "model.safetensors.index.json";

absl::Status ReadIndex(const fs::path& dir, const std::string& index_path, ModelFiles* out) {
  std::ifstream in(index_path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(index_path, ": cannot read the index file"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(buffer.str());
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(index_path, ": malformed JSON: ", e.what()));
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(index_path, ": expected an object with a \"weight_map\" object"));
  }
  std::set<std::string> shards;
  for (const auto& [tensor, shard_json] : index["weight_map"].items()) {
    if (!shard_json.is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(
          index_path, ": weight_map entry for tensor '", tensor, "' is not a file name"));
    }
    const std::string shard = shard_json.get<std::string>();
    const std::string shard_path = (dir / shard).string();
    std::error_code ec;
    if (!fs::is_regular_file(shard_path, ec)) {
      return absl::NotFoundError(absl::StrCat(index_path, ": shard '", shard, "' (holding tensor '",
                                              tensor, "') not found at ", shard_path));
    }
    out->weight_map[tensor] = shard_path;
    shards.insert(shard_path);
  }
  if (shards.empty()) {
    return absl::NotFoundError(absl::StrCat(index_path, ": weight_map lists no tensors"));
  }
  out->files.assign(shards.begin(), shards.end());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelFiles> FindModelFiles(const std::string& model_dir) {
  const fs::path dir(model_dir);
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model directory ", model_dir, " does not exist or is not a directory"));
  }
  ModelFiles out;
  const fs::path index = dir / kIndexName;
  if (fs::exists(index, ec)) {
    out.index_path = index.string();
    absl::Status st = ReadIndex(dir, out.index_path, &out);
    if (!st.ok()) return st;
    return out;
  }
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // Not only regular files: a dangling link should fail loudly when opened, not be skipped.
    std::error_code dir_ec;
    if (it->path().extension() == ".safetensors" && !it->is_directory(dir_ec)) {
      out.files.push_back(it->path().string());
    }
  }
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("cannot list model directory ", model_dir, ": ", ec.message()));
  }
  if (out.files.empty()) {
    return absl::NotFoundError(absl::StrCat("no *.safetensors weights in ", model_dir));
  }
  std::sort(out.files.begin(), out.files.end());
  return out;
}

}  // namespace attnserve

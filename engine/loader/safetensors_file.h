// SafetensorsFile: one *.safetensors file, memory-mapped read-only, its header parsed and validated.
//
//   byte 0        8                8+N                                      file end
//        | N (u64 LE) | JSON header  | data region (tensor offsets are relative to here) |
//
// Header: {"<tensor>": {"dtype": "F32"|"F16"|"BF16", "shape": [d0, ...], "data_offsets": [begin, end]},
//          "__metadata__": {"<key>": "<string>", ...}}   (__metadata__ optional)
// Every error message starts with the file's path. Immutable after Open; thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/loader/mapped_file.h"
#include "engine/loader/weight_store.h"

namespace attnserve {

class SafetensorsFile {
 public:
  // Maps `path` (MAP_PRIVATE, PROT_READ) and validates the header: size prefix within the file,
  // well-formed JSON object, supported dtypes, offsets inside the data region, and
  // end - begin == numel * itemsize. NOT_FOUND / PERMISSION_DENIED etc. for an unreadable file,
  // INVALID_ARGUMENT for a malformed one.
  static absl::StatusOr<std::unique_ptr<SafetensorsFile>> Open(const std::string& path);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  // The tensors, sorted by name; `data` points into this file's mapping (valid while it lives).
  const std::vector<StoredTensor>& tensors() const { return tensors_; }
  // The "__metadata__" entries (string values only; others are skipped).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  explicit SafetensorsFile(std::string path) : path_(std::move(path)) {}
  absl::Status ParseHeader(const char* json, size_t json_size, const unsigned char* data,
                           size_t data_size);

  std::string path_;
  std::unique_ptr<MappedFile> mapped_;
  std::vector<StoredTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace attnserve

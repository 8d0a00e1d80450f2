// MappedFile: a regular file memory-mapped read-only (MAP_PRIVATE) with readahead requested, for
// the model-file readers (safetensors, GGUF). Errors start with the path. Unmapped on destruction.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace attnserve {

class MappedFile {
 public:
  // NOT_FOUND / PERMISSION_DENIED etc. for an unopenable file, INVALID_ARGUMENT for a
  // non-regular one. An empty file maps to data() == nullptr, size() == 0.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const unsigned char* data() const { return static_cast<const unsigned char*>(mapping_); }
  size_t size() const { return size_; }

 private:
  explicit MappedFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
  void* mapping_ = nullptr;
  size_t size_ = 0;
};

// Drops the resident pages wholly inside [data, data + nbytes) of a read-only file mapping once
// a copy replaced them (a converted or re-ordered weight), so the model does not also keep the
// file's pages in memory; they are re-read from the file if ever touched again.
void ReleaseMappedPages(const void* data, size_t nbytes);

}  // namespace attnserve

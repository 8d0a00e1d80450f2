// MappedFile: a model file (safetensors, GGUF) read whole into private anonymous memory at open,
// so the daemon never depends on the file again: truncating or overwriting it while serving
// (`cp new.safetensors model.safetensors`, a half-written download) cannot SIGBUS the process or
// change the weights it serves. Errors start with the path. Freed on destruction.
//
//   Open:     fstat → mmap(anonymous, size) → pread the whole file → mprotect(PROT_READ)
//   Release:  pages a converted copy replaced are swapped for a private read-only mapping of
//             the same file range (not resident; re-read from the file only if touched again)
//
// Memory: the bytes are anonymous (RssAnon) instead of file-backed page cache. A model whose
// weights are used in place is resident either way, so RSS is the same; what is lost is sharing
// those pages with other processes mapping the same file and dropping them under memory
// pressure (they need swap now). Converted weights are released as before, so a converted model
// still holds only its converted copy.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace attnserve {

class MappedFile {
 public:
  // NOT_FOUND / PERMISSION_DENIED etc. for an unopenable file, INVALID_ARGUMENT for a
  // non-regular one, DATA_LOSS when the file shrinks while it is being read. An empty file gives
  // data() == nullptr, size() == 0.
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
  int fd_ = -1;  // kept open for ReleaseMappedPages
};

// Drops the resident pages wholly inside [data, data + nbytes) of a MappedFile once a copy
// replaced them (a converted or re-ordered weight), so the model does not also keep the file's
// bytes in memory; if ever touched again they are read from the file (as it is then). Does
// nothing for memory that no live MappedFile holds.
void ReleaseMappedPages(const void* data, size_t nbytes);

}  // namespace attnserve

// MappedFile: open + fstat + anonymous mmap + pread of the whole file + mprotect(PROT_READ); a
// registry of live files lets ReleaseMappedPages map released ranges back to the file
// (mapped_file.h).
#include "engine/loader/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

constexpr size_t kReadChunkBytes = size_t{64} << 20;

absl::Status ErrnoError(int err, const std::string& path, const char* what) {
  return absl::Status(absl::ErrnoToStatusCode(err),
                      absl::StrCat(path, ": cannot ", what, ": ", std::strerror(err)));
}

// Live files by the start address of their memory: [start, start + size) and the open fd.
struct LiveFile {
  uintptr_t end;
  int fd;
};
std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::map<uintptr_t, LiveFile>& Registry() {
  static auto* files = new std::map<uintptr_t, LiveFile>();
  return *files;
}

// Reads all `size` bytes of `fd` into `into`; OK, an errno error, or DATA_LOSS when the file
// ended early (it shrank since the fstat).
absl::Status ReadWhole(int fd, unsigned char* into, size_t size, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd, into + done, std::min(kReadChunkBytes, size - done),
                              static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError(errno, path, "read");
    if (n == 0) {
      return absl::DataLossError(absl::StrCat(path, ": the file shrank while being read (", done,
                                              " of ", size, " bytes); was it being written?"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError(errno, path, "open");
  auto file = std::unique_ptr<MappedFile>(new MappedFile(path));
  file->fd_ = fd;  // closed by the destructor from here on
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoError(errno, path, "stat");
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  if (size == 0) return file;
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return ErrnoError(errno, path, "allocate memory for");
  file->mapping_ = memory;
  file->size_ = size;
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  if (absl::Status read = ReadWhole(fd, static_cast<unsigned char*>(memory), size, path); !read.ok()) {
    return read;
  }
  ::mprotect(memory, size, PROT_READ);  // weights are read-only from here on
  std::lock_guard<std::mutex> lock(RegistryMutex());
  Registry()[reinterpret_cast<uintptr_t>(memory)] = {reinterpret_cast<uintptr_t>(memory) + size, fd};
  return file;
}

MappedFile::~MappedFile() {
  if (mapping_ != nullptr) {
    {
      std::lock_guard<std::mutex> lock(RegistryMutex());
      Registry().erase(reinterpret_cast<uintptr_t>(mapping_));
    }
    ::munmap(mapping_, size_);  // the anonymous pages and any file ranges released into them
  }
  if (fd_ >= 0) ::close(fd_);
}

void ReleaseMappedPages(const void* data, size_t nbytes) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) / page * page;
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + nbytes) / page * page;
  if (begin >= end) return;
  std::lock_guard<std::mutex> lock(RegistryMutex());
  auto it = Registry().upper_bound(begin);
  if (it == Registry().begin()) return;
  --it;
  const uintptr_t start = it->first;  // page-aligned (mmap), so begin - start is a page multiple
  if (end > it->second.end) return;
  // Replaces the anonymous pages (freeing them) with a lazy view of the same file bytes.
  ::mmap(reinterpret_cast<void*>(begin), end - begin, PROT_READ, MAP_PRIVATE | MAP_FIXED,
         it->second.fd, static_cast<off_t>(begin - start));
}

}  // namespace attnserve

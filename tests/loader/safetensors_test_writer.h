// Test helper: serialises tensors into the safetensors byte format, and writes files, so loader tests
// can build valid and deliberately corrupted model directories in a temp dir.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace attnserve::testing {

struct TensorBytes {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16" (or anything, to test rejection)
  std::vector<int64_t> shape;
  std::string bytes;           // little-endian element data
};

// Element data for TensorBytes::bytes.
std::string F32Bytes(const std::vector<float>& values);
std::string U16Bytes(const std::vector<uint16_t>& bits);  // f16 or bf16 bit patterns

// A complete, valid file: 8-byte length, header JSON (tensors in the given order, padded with spaces
// to `align` bytes), data. `metadata_json` is the "__metadata__" value, omitted when empty.
std::string SerializeSafetensors(const std::vector<TensorBytes>& tensors,
                                 const std::string& metadata_json = "", size_t align = 8);

// 8-byte little-endian `header_len` (default: header.size()) + header + data, no checks: for corruptions.
std::string RawSafetensors(const std::string& header, const std::string& data,
                           uint64_t header_len = UINT64_MAX);

void WriteFile(const std::string& path, const std::string& contents);

// A fresh directory under the gtest temp dir; removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace attnserve::testing

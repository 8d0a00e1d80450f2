// GgufFile: one GGUF file (llama.cpp's model format, versions 2 and 3, little-endian),
// memory-mapped read-only, its header, metadata and tensor table parsed and validated:
//
//   "GGUF" | u32 version | u64 tensor_count | u64 metadata_count | metadata KV ... | tensor infos ...
//   | padding to general.alignment (default 32) | tensor data (offsets relative to here, aligned)
//
//   metadata KV: string key, u32 value type, value     (string = u64 length + bytes)
//   tensor info: string name, u32 n_dims (<= 4), u64 dims[n_dims] (dims[0] is the contiguous one),
//                u32 ggml type, u64 offset
//
// The reader never reads past the mapping: every length, count and offset is checked against
// the bytes that remain, and element counts against overflow, before use (this parser is a fuzz
// target). Errors are INVALID_ARGUMENT starting with the path and naming the field. Metadata
// values are kept as JSON (integers, floats, bools, strings, arrays) with their GGUF type; tensor
// data stays in its block format (kernels/dtype.h maps the types attnserve multiplies).
// Immutable after Open; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/loader/mapped_file.h"
#include "kernels/dtype.h"
#include "nlohmann/json.hpp"

namespace attnserve {

// GGUF metadata value types (gguf.h: GGUF_TYPE_*).
enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6,
  kBool = 7, kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};

struct GgufValue {
  GgufType type;
  GgufType array_type = GgufType::kUint8;  // element type when type == kArray
  nlohmann::json value;                    // number, bool, string, or array of them
};

// ggml tensor types with their block geometry (ggml.c type_traits); others are refused at Open.
struct GgmlType {
  uint32_t id;
  const char* name;      // "F32", "Q4_K", ...
  int64_t block_elems;   // elements per block (1 for plain types)
  size_t block_bytes;    // bytes per block
  std::optional<DType> dtype;  // the attnserve DType with the same layout, if any
};
// The table entry for a ggml type id, or nullptr when the reader does not know it.
const GgmlType* FindGgmlType(uint32_t id);

struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;   // GGUF order: dims[0] contiguous (= HF's last dimension)
  const GgmlType* type = nullptr;
  const unsigned char* data = nullptr;  // into the mapping
  size_t nbytes = 0;
  int64_t numel() const;
};

class GgufFile {
 public:
  static absl::StatusOr<std::unique_ptr<GgufFile>> Open(const std::string& path);

  const std::string& path() const { return mapped_->path(); }
  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  // Tensors in file order.
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufValue* Find(const std::string& key) const;
  const GgufTensor* FindTensor(const std::string& name) const;

 private:
  GgufFile() = default;
  std::unique_ptr<MappedFile> mapped_;
  uint32_t version_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace attnserve

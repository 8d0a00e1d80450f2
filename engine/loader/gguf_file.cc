// GgufFile: bounds-checked parse of a GGUF file's header, metadata and tensor table (gguf_file.h).
#include "engine/loader/gguf_file.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr uint64_t kMaxCount = uint64_t{1} << 24;  // tensors / metadata entries / array elements
constexpr uint32_t kMaxDims = 4;

constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", 1, 4, DType::kF32},     {1, "F16", 1, 2, DType::kF16},
    {2, "Q4_0", 32, 18, DType::kQ4_0}, {3, "Q4_1", 32, 20, DType::kQ4_1},
    {6, "Q5_0", 32, 22, DType::kQ5_0}, {7, "Q5_1", 32, 24, DType::kQ5_1},
    {8, "Q8_0", 32, 34, DType::kQ8_0}, {9, "Q8_1", 32, 36, {}},
    {10, "Q2_K", 256, 84, {}},         {11, "Q3_K", 256, 110, {}},
    {12, "Q4_K", 256, 144, DType::kQ4_K}, {13, "Q5_K", 256, 176, DType::kQ5_K},
    {14, "Q6_K", 256, 210, DType::kQ6_K}, {15, "Q8_K", 256, 292, {}},
    {24, "I8", 1, 1, {}},              {25, "I16", 1, 2, {}},
    {26, "I32", 1, 4, {}},             {27, "I64", 1, 8, {}},
    {28, "F64", 1, 8, {}},             {30, "BF16", 1, 2, DType::kBF16},
};

// Sequential little-endian reads over [data, data + size); the first failure is kept and every
// later read is a no-op returning zeros, so parsing code reads as a list of fields.
class Reader {
 public:
  Reader(const unsigned char* data, size_t size, const std::string& path) : data_(data), size_(size), path_(path) {}

  size_t pos() const { return pos_; }
  size_t remaining() const { return size_ - pos_; }
  bool ok() const { return status_.ok(); }
  const absl::Status& status() const { return status_; }

  void Fail(const std::string& what) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(absl::StrCat(path_, ": ", what));
  }
  template <class T>
  T Read(const std::string& field) {
    T v{};
    if (!ok()) return v;
    if (remaining() < sizeof(T)) {
      Fail(absl::StrCat("truncated at byte ", pos_, " reading ", field));
      return v;
    }
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string ReadString(const std::string& field) {
    const uint64_t n = Read<uint64_t>(field + " length");
    if (!ok()) return {};
    if (n > remaining()) {
      Fail(absl::StrCat(field, ": string length ", n, " exceeds the ", remaining(), " bytes left"));
      return {};
    }
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return s;
  }

 private:
  const unsigned char* data_;
  size_t size_;
  size_t pos_ = 0;
  const std::string& path_;
  absl::Status status_;
};

// Bytes a scalar value of `type` occupies (strings and arrays: their minimum, 8).
size_t MinValueBytes(GgufType type) {
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    default: return 8;
  }
}

bool KnownType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kFloat64); }

nlohmann::json ReadScalar(Reader& r, GgufType type, const std::string& field) {
  switch (type) {
    case GgufType::kUint8: return r.Read<uint8_t>(field);
    case GgufType::kInt8: return r.Read<int8_t>(field);
    case GgufType::kUint16: return r.Read<uint16_t>(field);
    case GgufType::kInt16: return r.Read<int16_t>(field);
    case GgufType::kUint32: return r.Read<uint32_t>(field);
    case GgufType::kInt32: return r.Read<int32_t>(field);
    case GgufType::kFloat32: return r.Read<float>(field);
    case GgufType::kBool: {
      const uint8_t b = r.Read<uint8_t>(field);
      if (b > 1) r.Fail(absl::StrCat(field, ": bool value ", int(b), " is neither 0 nor 1"));
      return b == 1;
    }
    case GgufType::kString: return r.ReadString(field);
    case GgufType::kUint64: return r.Read<uint64_t>(field);
    case GgufType::kInt64: return r.Read<int64_t>(field);
    case GgufType::kFloat64: return r.Read<double>(field);
    case GgufType::kArray: break;
  }
  r.Fail(absl::StrCat(field, ": nested arrays are not supported"));
  return nullptr;
}

GgufValue ReadValue(Reader& r, const std::string& key) {
  GgufValue v;
  const uint32_t type = r.Read<uint32_t>("metadata '" + key + "' type");
  if (!r.ok()) return v;
  if (!KnownType(type)) {
    r.Fail(absl::StrCat("metadata '", key, "': unknown value type ", type));
    return v;
  }
  v.type = static_cast<GgufType>(type);
  if (v.type != GgufType::kArray) {
    v.value = ReadScalar(r, v.type, "metadata '" + key + "'");
    return v;
  }
  const uint32_t element = r.Read<uint32_t>("metadata '" + key + "' array type");
  const uint64_t count = r.Read<uint64_t>("metadata '" + key + "' array length");
  if (!r.ok()) return v;
  if (!KnownType(element) || static_cast<GgufType>(element) == GgufType::kArray) {
    r.Fail(absl::StrCat("metadata '", key, "': unsupported array element type ", element));
    return v;
  }
  v.array_type = static_cast<GgufType>(element);
  if (count > kMaxCount || count * MinValueBytes(v.array_type) > r.remaining()) {
    r.Fail(absl::StrCat("metadata '", key, "': array of ", count, " elements exceeds the ",
                        r.remaining(), " bytes left"));
    return v;
  }
  v.value = nlohmann::json::array();
  for (uint64_t i = 0; i < count && r.ok(); ++i) {
    v.value.push_back(ReadScalar(r, v.array_type, absl::StrCat("metadata '", key, "'[", i, "]")));
  }
  return v;
}

}  // namespace

const GgmlType* FindGgmlType(uint32_t id) {
  for (const GgmlType& t : kGgmlTypes) {
    if (t.id == id) return &t;
  }
  return nullptr;
}

int64_t GgufTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

const GgufValue* GgufFile::Find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::FindTensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

absl::StatusOr<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<MappedFile>> mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  auto file = std::unique_ptr<GgufFile>(new GgufFile());
  file->mapped_ = std::move(*mapped);
  const unsigned char* base = file->mapped_->data();
  const size_t size = file->mapped_->size();
  Reader r(base, size, file->mapped_->path());

  const uint32_t magic = r.Read<uint32_t>("the magic");
  if (r.ok() && magic != kMagic) r.Fail("not a GGUF file (the first 4 bytes are not \"GGUF\")");
  file->version_ = r.Read<uint32_t>("the version");
  if (r.ok() && file->version_ == 1) {
    r.Fail("GGUF version 1 (32-bit counts) is not supported; re-convert the model with a current llama.cpp");
  } else if (r.ok() && file->version_ != 2 && file->version_ != 3) {
    r.Fail(absl::StrCat("unsupported GGUF version ", file->version_, " (2 and 3 are read)"));
  }
  const uint64_t num_tensors = r.Read<uint64_t>("the tensor count");
  const uint64_t num_kv = r.Read<uint64_t>("the metadata count");
  if (r.ok() && (num_tensors > kMaxCount || num_kv > kMaxCount)) {
    r.Fail(absl::StrCat("implausible counts: ", num_tensors, " tensors, ", num_kv, " metadata entries"));
  }
  for (uint64_t i = 0; i < num_kv && r.ok(); ++i) {
    std::string key = r.ReadString(absl::StrCat("metadata key ", i));
    GgufValue value = ReadValue(r, key);
    if (r.ok() && !file->metadata_.emplace(key, std::move(value)).second) {
      r.Fail(absl::StrCat("duplicate metadata key '", key, "'"));
    }
  }
  uint64_t alignment = 32;
  if (const GgufValue* a = file->Find("general.alignment"); r.ok() && a != nullptr) {
    alignment = a->type == GgufType::kUint32 ? a->value.get<uint64_t>() : 0;
    if (alignment == 0 || (alignment & (alignment - 1)) != 0) {
      r.Fail("general.alignment must be a power-of-two uint32");
    }
  }
  struct Info {
    uint64_t offset;
  };
  std::vector<Info> infos;
  for (uint64_t i = 0; i < num_tensors && r.ok(); ++i) {
    GgufTensor t;
    t.name = r.ReadString(absl::StrCat("tensor ", i, " name"));
    const std::string field = "tensor '" + t.name + "'";
    const uint32_t n_dims = r.Read<uint32_t>(field + " n_dims");
    if (r.ok() && (n_dims == 0 || n_dims > kMaxDims)) {
      r.Fail(absl::StrCat(field, ": n_dims ", n_dims, " is outside 1..", kMaxDims));
    }
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims && r.ok(); ++d) {
      const uint64_t dim = r.Read<uint64_t>(field + " dims");
      if (r.ok() && (dim == 0 || dim > (uint64_t{1} << 40) ||
                     __builtin_mul_overflow(numel, static_cast<int64_t>(dim), &numel) ||
                     numel > (int64_t{1} << 40))) {
        r.Fail(absl::StrCat(field, ": dimension ", d, " = ", dim, " is zero or too large"));
      }
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    const uint32_t type = r.Read<uint32_t>(field + " type");
    const uint64_t offset = r.Read<uint64_t>(field + " offset");
    if (!r.ok()) break;
    t.type = FindGgmlType(type);
    if (t.type == nullptr) {
      r.Fail(absl::StrCat(field, ": unknown ggml type ", type));
      break;
    }
    if (t.dims[0] % t.type->block_elems != 0) {
      r.Fail(absl::StrCat(field, ": ", t.type->name, " needs rows of whole ", t.type->block_elems,
                          "-element blocks, dims[0] is ", t.dims[0]));
      break;
    }
    if (offset % alignment != 0) {
      r.Fail(absl::StrCat(field, ": data offset ", offset, " is not a multiple of the alignment ", alignment));
      break;
    }
    t.nbytes = static_cast<size_t>(numel / t.type->block_elems) * t.type->block_bytes;
    if (file->tensor_index_.count(t.name) != 0) {
      r.Fail(absl::StrCat("duplicate tensor name '", t.name, "'"));
      break;
    }
    file->tensor_index_[t.name] = file->tensors_.size();
    file->tensors_.push_back(std::move(t));
    infos.push_back({offset});
  }
  if (!r.ok()) return r.status();
  const uint64_t data_start = (r.pos() + alignment - 1) / alignment * alignment;
  if (data_start > size && !file->tensors_.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": truncated: the tensor data section would start at byte ",
                                                   data_start, " of ", size));
  }
  for (size_t i = 0; i < file->tensors_.size(); ++i) {
    GgufTensor& t = file->tensors_[i];
    const uint64_t begin = data_start + infos[i].offset;
    if (infos[i].offset > size || begin > size || t.nbytes > size - begin) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": tensor '", t.name, "': data [", infos[i].offset, ", +", t.nbytes,
          ") relative to the data section at byte ", data_start, " runs past the end of the file (",
          size, " bytes)"));
    }
    t.data = base + begin;
  }
  return file;
}

}  // namespace attnserve

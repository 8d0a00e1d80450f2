// SafetensorsFile: mmap + header parse/validation of one *.safetensors file.
#include "engine/loader/safetensors_file.h"


#include <bit>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kernels/dtype_convert.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

static_assert(std::endian::native == std::endian::little, "safetensors data is little-endian");

constexpr size_t kPrefixBytes = 8;  // u64 LE header length


// "F32" -> kF32 etc.; false for any other dtype string.
bool ParseDType(const std::string& s, DType* out) {
  if (s == "F32") *out = DType::kF32;
  else if (s == "F16") *out = DType::kF16;
  else if (s == "BF16") *out = DType::kBF16;
  else return false;
  return true;
}

// A JSON value that is a non-negative integer (nlohmann stores them as signed or unsigned).
bool AsUnsigned(const nlohmann::json& v, uint64_t* out) {
  if (v.is_number_unsigned()) {
    *out = v.get<uint64_t>();
    return true;
  }
  if (v.is_number_integer() && v.get<int64_t>() >= 0) {
    *out = static_cast<uint64_t>(v.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SafetensorsFile>> SafetensorsFile::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<MappedFile>> mapped = MappedFile::Open(path);
  if (!mapped.ok()) return mapped.status();
  const size_t size = (*mapped)->size();
  if (size < kPrefixBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: truncated safetensors file: %d bytes, shorter than the 8-byte header-length prefix",
        path, size));
  }
  auto file = std::unique_ptr<SafetensorsFile>(new SafetensorsFile(path));
  file->mapped_ = std::move(*mapped);

  const unsigned char* bytes = file->mapped_->data();
  uint64_t header_len;
  std::memcpy(&header_len, bytes, sizeof(header_len));
  if (header_len > size - kPrefixBytes) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: header length %d exceeds the file (%d bytes after the 8-byte prefix); "
        "truncated or not a safetensors file",
        path, header_len, size - kPrefixBytes));
  }
  const unsigned char* data = bytes + kPrefixBytes + header_len;
  const size_t data_size = size - kPrefixBytes - header_len;
  absl::Status st_parse = file->ParseHeader(reinterpret_cast<const char*>(bytes + kPrefixBytes),
                                            header_len, data, data_size);
  if (!st_parse.ok()) return st_parse;
  return file;
}

SafetensorsFile::~SafetensorsFile() = default;

absl::Status SafetensorsFile::ParseHeader(const char* json, size_t json_size,
                                          const unsigned char* data, size_t data_size) {
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(json, json + json_size);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(path_, ": malformed safetensors header JSON: ", e.what()));
  }
  if (!header.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": malformed safetensors header: expected a JSON object, found ", header.type_name()));
  }
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) {
        return absl::InvalidArgumentError(
            absl::StrCat(path_, ": \"__metadata__\" is a ", entry.type_name(), ", expected an object"));
      }
      for (const auto& [key, value] : entry.items()) {
        if (value.is_string()) metadata_[key] = value.get<std::string>();
      }
      continue;
    }
    const std::string where = absl::StrCat(path_, ": tensor '", name, "'");
    if (!entry.is_object()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": header entry is a ", entry.type_name(), ", expected an object"));
    }
    StoredTensor t;
    t.name = name;
    t.file = path_;

    const auto dtype_it = entry.find("dtype");
    if (dtype_it == entry.end() || !dtype_it->is_string()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": missing or non-string \"dtype\""));
    }
    const std::string dtype = dtype_it->get<std::string>();
    if (!ParseDType(dtype, &t.dtype)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": unsupported dtype \"", dtype, "\" (attnserve reads F32, F16 and BF16)"));
    }

    const auto shape_it = entry.find("shape");
    if (shape_it == entry.end() || !shape_it->is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": missing or non-array \"shape\""));
    }
    uint64_t numel = 1;
    bool overflow = false;
    for (const auto& dim_json : *shape_it) {
      uint64_t dim;
      if (!AsUnsigned(dim_json, &dim) || dim > static_cast<uint64_t>(INT64_MAX)) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": shape ", shape_it->dump(), " has an entry that is not a non-negative integer"));
      }
      t.shape.push_back(static_cast<int64_t>(dim));
      overflow |= __builtin_mul_overflow(numel, dim, &numel);
    }
    uint64_t expected_bytes = 0;
    overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(DTypeBlockBytes(t.dtype)), &expected_bytes);
    if (overflow) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": shape ", shape_it->dump(), " is too large"));
    }

    const auto offsets_it = entry.find("data_offsets");
    uint64_t begin = 0, end = 0;
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2 ||
        !AsUnsigned((*offsets_it)[0], &begin) || !AsUnsigned((*offsets_it)[1], &end)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": \"data_offsets\" must be [begin, end] with non-negative integers, found ",
          offsets_it == entry.end() ? std::string("nothing") : offsets_it->dump()));
    }
    if (begin > end || end > data_size) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: data_offsets [%d, %d] lie outside the data region [0, %d)", where, begin, end,
          data_size));
    }
    if (end - begin != expected_bytes) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "%s: data_offsets [%d, %d] span %d bytes but shape [%s] of %s needs %d", where, begin,
          end, end - begin, absl::StrJoin(t.shape, ", "), dtype, expected_bytes));
    }
    t.data = data + begin;
    t.nbytes = static_cast<size_t>(expected_bytes);
    tensors_.push_back(std::move(t));
  }
  return absl::OkStatus();
}

}  // namespace attnserve

// WeightStore: the name -> tensor table over the mapped safetensors files of a model directory,
// and f32 views of those tensors (zero-copy or converted).
#include "engine/loader/weight_store.h"

#include <algorithm>
#include <new>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "kernels/dtype_convert.h"
#include "engine/loader/mapped_file.h"
#include "engine/loader/model_files.h"
#include "engine/loader/safetensors_file.h"

namespace attnserve {
namespace {

constexpr size_t kCopyAlignment = 64;  // converted buffers: cache-line / AVX-512 aligned

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// An uninitialised buffer of `bytes`, 64-byte aligned, freed when the last owner goes.
std::shared_ptr<unsigned char> AllocateBytes(size_t bytes) {
  bytes = std::max(bytes, kCopyAlignment);
  auto* p = static_cast<unsigned char*>(::operator new(bytes, std::align_val_t(kCopyAlignment)));
  return std::shared_ptr<unsigned char>(
      p, [](unsigned char* q) { ::operator delete(q, std::align_val_t(kCopyAlignment)); });
}

// An uninitialised f32 [n] buffer, 64-byte aligned.
std::shared_ptr<float> AllocateAligned(size_t n) {
  std::shared_ptr<unsigned char> bytes = AllocateBytes(n * sizeof(float));
  return std::shared_ptr<float>(bytes, reinterpret_cast<float*>(bytes.get()));
}

}  // namespace


int64_t F32Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

struct WeightStore::MappedFile {
  std::unique_ptr<SafetensorsFile> file;
};

WeightStore::~WeightStore() = default;

absl::StatusOr<std::unique_ptr<WeightStore>> WeightStore::Open(const std::string& model_dir) {
  absl::StatusOr<ModelFiles> found = FindModelFiles(model_dir);
  if (!found.ok()) return found.status();

  auto store = std::unique_ptr<WeightStore>(new WeightStore());
  store->model_dir_ = model_dir;
  for (const std::string& path : found->files) {
    absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
    if (!file.ok()) return file.status();
    for (const StoredTensor& t : (*file)->tensors()) {
      auto [it, inserted] = store->tensors_.emplace(t.name, t);
      if (!inserted) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", t.name, "' appears in both ",
                                                       it->second.file, " and ", path));
      }
    }
    store->files_.push_back(std::make_unique<MappedFile>(MappedFile{std::move(*file)}));
  }
  // The index must agree with the shards it names.
  for (const auto& [name, shard_path] : found->weight_map) {
    auto it = store->tensors_.find(name);
    if (it == store->tensors_.end() || it->second.file != shard_path) {
      return absl::InvalidArgumentError(absl::StrCat(
          found->index_path, ": weight_map puts tensor '", name, "' in ", shard_path, " but ",
          it == store->tensors_.end() ? std::string("no shard holds it")
                                      : absl::StrCat("it is in ", it->second.file)));
    }
  }
  return store;
}

absl::StatusOr<std::unique_ptr<WeightStore>> WeightStore::FromTensors(
    std::string origin, std::vector<StoredTensor> tensors, std::vector<std::shared_ptr<const void>> owners) {
  auto store = std::unique_ptr<WeightStore>(new WeightStore());
  store->model_dir_ = std::move(origin);
  store->owners_ = std::move(owners);
  for (StoredTensor& t : tensors) {
    const std::string name = t.name;
    if (!store->tensors_.emplace(name, std::move(t)).second) {
      return absl::InvalidArgumentError(absl::StrCat(store->model_dir_, ": tensor '", name, "' appears twice"));
    }
  }
  return store;
}

bool WeightStore::Has(const std::string& name) const { return tensors_.count(name) > 0; }

absl::StatusOr<const StoredTensor*> WeightStore::Get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) {
    return absl::NotFoundError(
        absl::StrCat("tensor '", name, "' not found in the weights of ", model_dir_));
  }
  return &it->second;
}

absl::StatusOr<F32Tensor> WeightStore::LoadF32(const std::string& name,
                                               const std::vector<int64_t>& expected_shape) const {
  absl::StatusOr<const StoredTensor*> stored = Get(name);
  if (!stored.ok()) return stored.status();
  const StoredTensor& t = **stored;
  if (t.shape != expected_shape) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' in ", t.file,
                                                   ": expected shape ", ShapeString(expected_shape),
                                                   ", found ", ShapeString(t.shape)));
  }
  F32Tensor out;
  out.shape = t.shape;
  const size_t numel = t.nbytes / DTypeBlockBytes(t.dtype) * static_cast<size_t>(DTypeBlockElems(t.dtype));
  if (t.dtype == DType::kF32 && reinterpret_cast<uintptr_t>(t.data) % alignof(float) == 0) {
    out.data = static_cast<const float*>(t.data);  // zero-copy: lives as long as the mapping
    return out;
  }
  std::shared_ptr<float> buffer = AllocateAligned(numel);
  ConvertToF32(t.dtype, t.data, buffer.get(), numel);
  out.data = buffer.get();
  out.owner = std::move(buffer);
  return out;
}

absl::StatusOr<WeightTensor> WeightStore::LoadMatrix(const std::string& name, int64_t rows,
                                                     int64_t cols, std::optional<DType> dtype) const {
  absl::StatusOr<const StoredTensor*> stored = Get(name);
  if (!stored.ok()) return stored.status();
  const StoredTensor& t = **stored;
  if (t.shape != std::vector<int64_t>{rows, cols}) {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' in ", t.file,
                                                   ": expected shape ", ShapeString({rows, cols}),
                                                   ", found ", ShapeString(t.shape)));
  }
  const DType target = dtype.value_or(t.dtype);
  if (cols % DTypeBlockElems(target) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", name, "' in ", t.file, ": weight dtype ", DTypeName(target), " needs ",
        DTypeBlockElems(target), "-element blocks, but a row has ", cols, " elements"));
  }
  if (target != t.dtype && IsKQuantDType(target)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", name, "' in ", t.file, ": weight dtype ", DTypeName(target),
        " is read from GGUF files as it is; attnserve does not quantize ", DTypeName(t.dtype), " weights to it"));
  }
  WeightTensor out;
  out.matrix = {target, t.data, rows, cols};
  // The kernels read f32 elements as floats and the f16 scales / 16-bit elements of every other
  // dtype as uint16_t: 4- or 2-byte alignment lets them use the file's bytes in place.
  const uintptr_t alignment = t.dtype == DType::kF32 ? 4 : 2;
  if (target == t.dtype && reinterpret_cast<uintptr_t>(t.data) % alignment == 0) {
    return out;  // zero-copy: the file's own bytes, alive as long as the mapping
  }
  std::shared_ptr<unsigned char> buffer = AllocateBytes(out.matrix.nbytes());
  std::vector<float> row(static_cast<size_t>(cols));
  const size_t stored_row_bytes = DTypeRowBytes(t.dtype, cols);
  for (int64_t r = 0; r < rows; ++r) {
    ConvertToF32(t.dtype, static_cast<const unsigned char*>(t.data) + r * stored_row_bytes, row.data(),
                 row.size());
    ConvertFromF32(target, row.data(), buffer.get() + r * out.matrix.row_bytes(), row.size());
  }
  out.matrix.data = buffer.get();
  out.owner = std::move(buffer);
  ReleaseMappedPages(t.data, t.nbytes);
  return out;
}

std::vector<std::string> WeightStore::Names() const {
  std::vector<std::string> names;
  names.reserve(tensors_.size());
  for (const auto& [name, t] : tensors_) names.push_back(name);
  return names;  // std::map order: sorted
}

std::string WeightStore::PredominantDType() const {
  size_t counts[kNumDTypes] = {};
  for (const auto& [name, t] : tensors_) ++counts[static_cast<int>(t.dtype)];
  int best = 0;
  for (int i = 1; i < kNumDTypes; ++i) {
    if (counts[i] > counts[best]) best = i;
  }
  return DTypeName(static_cast<DType>(best));
}

}  // namespace attnserve

// WeightStore: the tensors of a Hugging Face model directory, read from *.safetensors files
// (model.safetensors, sharded via model.safetensors.index.json, or every *.safetensors present),
// each read whole into private memory at open (MappedFile: a file changed or truncated while
// serving does not reach the daemon). Tensors are f32, f16 or bf16 on disk; LoadF32 gives f32 (zero-copy for aligned
// f32 data, converted copies otherwise); LoadMatrix gives a weight matrix in the file's dtype
// (zero-copy) or converted / quantized to a chosen dtype (--weight_dtype, kernels/dtype.h). Errors name the file, the tensor and the problem.
// Immutable after Open: const methods are thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/dtype.h"
#include "kernels/weight_matrix.h"

namespace attnserve {


// A tensor as stored on disk; `data` points into a mapping owned by the WeightStore.
struct StoredTensor {
  std::string name;
  std::string file;              // the file holding it (.safetensors, or "x.gguf (gguf name)")
  DType dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;    // nbytes bytes, little-endian
  size_t nbytes = 0;
};

// f32 tensor ready for compute. `data` stays valid while `owner` (and the WeightStore) live.
struct F32Tensor {
  const float* data = nullptr;
  std::vector<int64_t> shape;
  std::shared_ptr<const void> owner;  // keeps a converted copy alive (null when zero-copy)
  int64_t numel() const;
};

// A weight matrix ready for Backend::Linear / GetRows; `matrix.data` stays valid while `owner`
// (and the WeightStore) live. Empty (data == nullptr) when not loaded.
struct WeightTensor {
  WeightMatrix matrix;
  std::shared_ptr<const void> owner;  // a converted copy (null when zero-copy)
  bool empty() const { return matrix.data == nullptr; }
  int64_t numel() const { return matrix.rows * matrix.cols; }
};

class WeightStore {
 public:
  // Opens every safetensors file of `model_dir`. Fails (naming the file) on: no weights found,
  // unreadable file, truncated file, malformed header JSON, unknown dtype, data offsets outside
  // the file or inconsistent with shape × dtype size, an index.json naming a missing shard.
  static absl::StatusOr<std::unique_ptr<WeightStore>> Open(const std::string& model_dir);

  // A store over tensors whose bytes live elsewhere (a GGUF file's mapping, re-ordered copies):
  // `owners` keep them alive as long as the store; `origin` names the source in errors.
  // INVALID_ARGUMENT on a duplicate name.
  static absl::StatusOr<std::unique_ptr<WeightStore>> FromTensors(
      std::string origin, std::vector<StoredTensor> tensors, std::vector<std::shared_ptr<const void>> owners);

  ~WeightStore();
  WeightStore(const WeightStore&) = delete;
  WeightStore& operator=(const WeightStore&) = delete;

  bool Has(const std::string& name) const;
  // NOT_FOUND naming the tensor and the directory when absent.
  absl::StatusOr<const StoredTensor*> Get(const std::string& name) const;
  // The tensor as f32 with exactly `expected_shape`; INVALID_ARGUMENT naming tensor, file,
  // expected and actual shape otherwise.
  absl::StatusOr<F32Tensor> LoadF32(const std::string& name,
                                    const std::vector<int64_t>& expected_shape) const;
  // The 2-D tensor `name` of shape [rows, cols] held in `dtype` (nullopt: the file's dtype, no
  // copy). INVALID_ARGUMENT naming tensor, file and problem on a shape mismatch or when a block
  // dtype's 32-element blocks do not divide cols.
  absl::StatusOr<WeightTensor> LoadMatrix(const std::string& name, int64_t rows, int64_t cols,
                                          std::optional<DType> dtype) const;
  // Every tensor name, sorted.
  std::vector<std::string> Names() const;
  // The dtype most tensors have ("float32" etc.), for display.
  std::string PredominantDType() const;

 private:
  struct MappedFile;
  WeightStore() = default;
  std::string model_dir_;
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::map<std::string, StoredTensor> tensors_;
  std::vector<std::shared_ptr<const void>> owners_;  // FromTensors: what keeps the bytes alive
};

}  // namespace attnserve

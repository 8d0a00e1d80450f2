// WeightLoader: loads a model's tensors one after another by name and expected shape, keeping
// the first error (it names the tensor, the file and both shapes) and counting parameters, so
// model loaders read as a list of tensors instead of a chain of status checks. Matrices that go
// through Backend::Linear load with LoadMatrix in the model's weight dtype; norms, biases and
// small SSM parameters load as f32.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/loader/weight_store.h"

namespace attnserve {

class WeightLoader {
 public:
  // weight_dtype: the dtype LoadMatrix holds matrices in (nullopt: each tensor's file dtype).
  explicit WeightLoader(const WeightStore& store, std::optional<DType> weight_dtype = std::nullopt)
      : store_(store), weight_dtype_(weight_dtype) {}

  // Loads `name` as f32 of `shape` into `out`; no-op once an error occurred.
  void Load(const std::string& name, std::vector<int64_t> shape, F32Tensor& out) {
    if (!status_.ok()) return;
    absl::StatusOr<F32Tensor> t = store_.LoadF32(name, shape);
    if (!t.ok()) {
      status_ = t.status();
      return;
    }
    out = std::move(*t);
    params_ += static_cast<uint64_t>(out.numel());
  }
  // Loads the matrix `name` [rows, cols] in the loader's weight dtype into `out`.
  void LoadMatrix(const std::string& name, int64_t rows, int64_t cols, WeightTensor& out) {
    if (!status_.ok()) return;
    absl::StatusOr<WeightTensor> t = store_.LoadMatrix(name, rows, cols, weight_dtype_);
    if (!t.ok()) {
      status_ = t.status();
      return;
    }
    out = std::move(*t);
    params_ += static_cast<uint64_t>(out.numel());
    matrix_dtypes_ |= 1u << static_cast<int>(out.matrix.dtype);
    matrix_params_ += static_cast<uint64_t>(out.numel());
    matrix_bytes_ += out.matrix.nbytes();
  }
  // The dtypes of the matrices loaded so far: "bfloat16", or "float32+q8_0" when they differ.
  std::string MatrixDTypes() const {
    std::string names;
    for (int d = 0; d < kNumDTypes; ++d) {
      if (matrix_dtypes_ & (1u << d)) names += (names.empty() ? "" : "+") + std::string(DTypeName(DType(d)));
    }
    return names;
  }
  bool Has(const std::string& name) const { return store_.Has(name); }

  const absl::Status& status() const { return status_; }
  uint64_t params() const { return params_; }
  // Bytes of every parameter as held in memory: matrices at their dtype, the rest f32.
  uint64_t bytes() const { return matrix_bytes_ + 4 * (params_ - matrix_params_); }

 private:
  const WeightStore& store_;
  std::optional<DType> weight_dtype_;
  absl::Status status_;
  uint64_t params_ = 0;
  unsigned matrix_dtypes_ = 0;  // bit d: a matrix of DType d was loaded
  uint64_t matrix_params_ = 0, matrix_bytes_ = 0;
};

}  // namespace attnserve

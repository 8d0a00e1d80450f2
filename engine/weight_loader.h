// WeightLoader: loads a model's tensors one after another by name and expected shape, keeping
// the first error (it names the tensor, the file and both shapes) and counting parameters, so
// model loaders read as a list of tensors instead of a chain of status checks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "engine/loader/weight_store.h"

namespace attnserve {

class WeightLoader {
 public:
  explicit WeightLoader(const WeightStore& store) : store_(store) {}

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
  bool Has(const std::string& name) const { return store_.Has(name); }

  const absl::Status& status() const { return status_; }
  uint64_t params() const { return params_; }

 private:
  const WeightStore& store_;
  absl::Status status_;
  uint64_t params_ = 0;
};

}  // namespace attnserve

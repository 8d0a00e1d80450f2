// Fuzz target: a *.safetensors file (8-byte header length, JSON header, data region). The bytes
// become /tmp/attnserve_fuzz_<pid>/model.safetensors (the reader maps a path); SafetensorsFile::Open
// validates the header, then WeightStore::Open reads the directory as the engine does and every
// tensor is loaded as f32 and, when 2-D, as a matrix in its own dtype and quantized to q8_0.
#include <optional>

#include "engine/loader/safetensors_file.h"
#include "engine/loader/weight_store.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {

int FuzzSafetensorsHeader(const uint8_t* data, size_t size) {
  const std::string path = WriteTempFile("model.safetensors", data, size);
  absl::StatusOr<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::Open(path);
  if (!Note("SafetensorsFile::Open", file)) return 0;
  size_t sum = (*file)->metadata().size();
  for (const StoredTensor& t : (*file)->tensors()) sum += t.nbytes + t.shape.size();

  absl::StatusOr<std::unique_ptr<WeightStore>> store = WeightStore::Open(TempDir());
  if (!Note("WeightStore::Open", store)) return 0;
  (void)(*store)->PredominantDType();
  for (const std::string& name : (*store)->Names()) {
    absl::StatusOr<const StoredTensor*> t = (*store)->Get(name);
    if (!t.ok()) continue;
    const std::vector<int64_t> shape = (*t)->shape;
    absl::StatusOr<F32Tensor> f32 = (*store)->LoadF32(name, shape);
    if (f32.ok() && f32->numel() > 0) sum += static_cast<size_t>(f32->data[f32->numel() - 1] != 0.0f);
    if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0) continue;
    (void)(*store)->LoadMatrix(name, shape[0], shape[1], std::nullopt);
    (void)(*store)->LoadMatrix(name, shape[0], shape[1], DType::kQ8_0);
  }
  volatile size_t keep = sum;  // the reads stay
  (void)keep;
  return 0;
}

}  // namespace attnserve::fuzz

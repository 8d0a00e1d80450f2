// The one factory of compute backends: `--device` names a backend and MakeBackend builds it.
// Nothing outside kernels/ (and the kernel tests) names a concrete backend; the engine, benches
// and engine tests go through here. Devices: "cpu" (AVX2+FMA, OpenMP) and "reference" (the
// naive single-threaded oracle, for debugging); "cuda:N" joins with the CUDA backend.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kernels/backend.h"

namespace attnserve {

struct BackendOptions {
  int num_threads = 0;                // compute threads (0 = all cores); ignored by "reference"
  bool quantize_activations = true;   // q8_0/q4_0 decode with int8 activations (kernels/backend.h)
};

// The device names MakeBackend accepts, in a stable order.
std::vector<std::string> DeviceNames();

// The backend for `device`; INVALID_ARGUMENT naming the device and the accepted names otherwise.
absl::StatusOr<std::unique_ptr<Backend>> MakeBackend(std::string_view device, const BackendOptions& options);

}  // namespace attnserve

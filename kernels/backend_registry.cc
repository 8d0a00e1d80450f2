// MakeBackend: --device name -> Backend (kernels/backend_registry.h).
#include "kernels/backend_registry.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/ref/reference_backend.h"

namespace attnserve {

std::vector<std::string> DeviceNames() { return {"cpu", "reference"}; }

absl::StatusOr<std::unique_ptr<Backend>> MakeBackend(std::string_view device, const BackendOptions& options) {
  if (device == "cpu") return MakeCpuBackend(options.num_threads, options.quantize_activations);
  if (device == "reference") return MakeReferenceBackend();
  return absl::InvalidArgumentError(absl::StrCat("unknown device '", std::string(device), "': this build has ",
                                                 absl::StrJoin(DeviceNames(), ", ")));
}

}  // namespace attnserve

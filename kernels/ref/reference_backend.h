// The naive single-threaded reference of every Backend op: the oracle of the kernel tests, and
// the "reference" device of MakeBackend (kernels/backend_registry.h).
#pragma once

#include <memory>

#include "kernels/backend.h"

namespace attnserve {

std::unique_ptr<Backend> MakeReferenceBackend();

}  // namespace attnserve

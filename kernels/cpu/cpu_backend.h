// The CPU backend's constructor, for kernels/backend_registry.cc and the kernel tests (everything
// else builds backends through MakeBackend).
#pragma once

#include <memory>

#include "kernels/backend.h"

namespace attnserve {

// AVX2+FMA, multithreaded over num_threads cores (0 = all cores).
// quantize_activations: q8_0 / q4_0 weights at small m (decode) multiply activations quantized to
// int8 blocks (llama.cpp's scheme, fastest); false: the exactly widened weights with f32
// activations at every m (results equal the f32 reference on the dequantized weights).
std::unique_ptr<Backend> MakeCpuBackend(int num_threads, bool quantize_activations = true);

}  // namespace attnserve

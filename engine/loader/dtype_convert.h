// Conversion of on-disk tensor element types (f32 / f16 / bf16, little-endian) to f32.
// Vectorised with F16C/AVX2 (the build floor); sources may be unaligned. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>

#include "engine/loader/weight_store.h"

namespace attnserve {

// Bytes per element of `dtype` (4 for f32, 2 for f16 / bf16).
size_t DTypeSize(DType dtype);

// One element, for tests and tails: IEEE binary16 / bfloat16 bits -> f32 (exact; subnormals, inf, nan kept).
float F16BitsToF32(uint16_t bits);
float BF16BitsToF32(uint16_t bits);

// dst[i] = src[i] as f32 for i < n. `src` holds n little-endian elements of `dtype` at any alignment;
// dst is f32 [n] and must not overlap src.
void ConvertToF32(DType dtype, const void* src, float* dst, size_t n);

}  // namespace attnserve

// Conversions between f32 and every DType (kernels/dtype.h): widening for loading, tests and the
// reference backend; narrowing (rounding, quantizing) for --weight_dtype at load. f16 uses F16C,
// bf16 a 16-bit shift, 8 lanes a step (AVX2/F16C is the build floor); sources and destinations may
// be unaligned. Quantization follows ggml's reference rounding exactly, so q8_0 / q4_0 rows made
// here are bit-identical to llama.cpp's quantize of the same f32 values. Pure, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include <immintrin.h>

#include "kernels/dtype.h"

namespace attnserve {

// One element, exact: IEEE binary16 / bfloat16 bits -> f32 (subnormals, inf, nan kept). Inline:
// the block kernels widen one f16 scale per 32 weights.
inline float F16BitsToF32(uint16_t bits) { return _cvtsh_ss(bits); }
inline float BF16BitsToF32(uint16_t bits) {
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &widened, sizeof(out));
  return out;
}
// One element, round to nearest even (nan stays nan; f16 overflow gives inf).
uint16_t F32ToF16Bits(float x);
uint16_t F32ToBF16Bits(float x);

// dst f32[n] = src, where src holds n elements of `dtype` (n % DTypeBlockElems(dtype) == 0)
// little-endian at any alignment. dst must not overlap src.
void ConvertToF32(DType dtype, const void* src, float* dst, size_t n);

// dst (DTypeRowBytes(dtype, n) bytes) = src f32[n] rounded / quantized to `dtype`
// (n % DTypeBlockElems(dtype) == 0). dst must not overlap src. Not for the K-quants
// (IsKQuantDType: read-only formats; calling it with one aborts).
void ConvertFromF32(DType dtype, const float* src, void* dst, size_t n);

}  // namespace attnserve

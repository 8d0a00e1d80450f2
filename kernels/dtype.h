// DType: the element types tensors are stored and computed in. f32/f16/bf16 are plain element
// types; q8_0 and q4_0 are block formats (32 elements sharing one f16 scale), first-class dtypes
// whose byte layout equals ggml's (GGUF tensors of these types can be used without repacking):
//   q8_0 block (34 bytes): f16 d, int8 qs[32]           x[i] = d · qs[i]
//   q4_0 block (18 bytes): f16 d, uint8 qs[16]          x[i] = d · ((qs[i] & 15) − 8),
//                                                       x[i + 16] = d · ((qs[i] >> 4) − 8), i < 16
// A row of `cols` elements of a block dtype needs cols % 32 == 0. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace attnserve {

enum class DType : uint8_t { kF32, kF16, kBF16, kQ8_0, kQ4_0 };

inline constexpr int kNumDTypes = 5;
inline constexpr int64_t kQuantBlock = 32;  // elements per q8_0 / q4_0 block

struct BlockQ8_0 {
  uint16_t d;      // f16 bits: scale
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0) == 34);

struct BlockQ4_0 {
  uint16_t d;      // f16 bits: scale
  uint8_t qs[16];  // element i in the low nibble of qs[i], element i + 16 in its high nibble
};
static_assert(sizeof(BlockQ4_0) == 18);

// "float32", "float16", "bfloat16", "q8_0", "q4_0" (the names ModelInfo reports).
const char* DTypeName(DType dtype);
// Accepts the names above and the short forms f32, f16, bf16 (case-sensitive); nullopt otherwise.
std::optional<DType> ParseDType(std::string_view name);

bool IsBlockDType(DType dtype);
// Elements per storage unit: 1, or kQuantBlock for block dtypes.
int64_t DTypeBlockElems(DType dtype);
// Bytes per storage unit: 4, 2, 2, 34, 18.
size_t DTypeBlockBytes(DType dtype);
// Bytes of one row of `cols` elements; requires cols % DTypeBlockElems(dtype) == 0.
size_t DTypeRowBytes(DType dtype, int64_t cols);

}  // namespace attnserve

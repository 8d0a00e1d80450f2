// DType: the element types tensors are stored and computed in. f32/f16/bf16 are plain element
// types; q8_0, q4_0, q4_1, q5_0, q5_1 are block formats (32 elements sharing an f16 scale, and
// for *_1 an f16 minimum), first-class dtypes whose byte layout equals ggml's (GGUF tensors of
// these types are used without repacking). With n_i the 4-bit value of element i (element i < 16
// in the low nibble of qs[i], element i + 16 in its high nibble) and h_i bit i of qh:
//   q8_0 block (34 bytes): f16 d, int8 qs[32]                 x[i] = d · qs[i]
//   q4_0 block (18 bytes): f16 d, uint8 qs[16]                x[i] = d · (n_i − 8)
//   q4_1 block (20 bytes): f16 d, f16 m, uint8 qs[16]         x[i] = d · n_i + m
//   q5_0 block (22 bytes): f16 d, uint8 qh[4], uint8 qs[16]   x[i] = d · (n_i + 16 h_i − 16)
//   q5_1 block (24 bytes): f16 d, f16 m, qh[4], qs[16]        x[i] = d · (n_i + 16 h_i) + m
// A row of `cols` elements of a block dtype needs cols % 32 == 0. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace attnserve {

enum class DType : uint8_t { kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ4_1, kQ5_0, kQ5_1 };

inline constexpr int kNumDTypes = 8;
inline constexpr int64_t kQuantBlock = 32;  // elements per block of every block dtype

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

struct BlockQ4_1 {
  uint16_t d, m;   // f16 bits: scale, minimum
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20);

struct BlockQ5_0 {
  uint16_t d;      // f16 bits: scale
  uint8_t qh[4];   // bit i: the fifth bit of element i (little-endian u32)
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22);

struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24);

// "float32", "float16", "bfloat16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1" (ModelInfo's names).
const char* DTypeName(DType dtype);
// Accepts the names above and the short forms f32, f16, bf16 (case-sensitive); nullopt otherwise.
std::optional<DType> ParseDType(std::string_view name);

bool IsBlockDType(DType dtype);
// Elements per storage unit: 1, or kQuantBlock for block dtypes.
int64_t DTypeBlockElems(DType dtype);
// Bytes per storage unit: 4, 2, 2, 34, 18, 20, 22, 24.
size_t DTypeBlockBytes(DType dtype);
// Bytes of one row of `cols` elements; requires cols % DTypeBlockElems(dtype) == 0.
size_t DTypeRowBytes(DType dtype, int64_t cols);

}  // namespace attnserve

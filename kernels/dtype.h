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
// and ggml's K-quants, super-blocks of 256 elements in 8 groups of 32 (q6_k: 16 of 16) with
// 6-bit (q6_k: int8) group scales (decoded in kernels/quant_blocks_avx2.h):
//   q4_k (144 bytes): f16 d, f16 dmin, scales[12], qs[128]   x = d·sc_g · n − dmin·m_g
//   q5_k (176 bytes): f16 d, f16 dmin, scales[12], qh[32], qs[128]
//   q6_k (210 bytes): ql[128], qh[64], int8 scales[16], f16 d  x = d·sc_g · (q6 − 32)
// K-quants are read from GGUF files; attnserve does not quantize to them.
// A row of `cols` elements of a block dtype needs cols % 32 == 0. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace attnserve {

enum class DType : uint8_t { kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ4_1, kQ5_0, kQ5_1, kQ4_K, kQ5_K, kQ6_K };

inline constexpr int kNumDTypes = 11;
inline constexpr int64_t kQuantBlock = 32;   // elements per block (per group of a K-quant super-block)
inline constexpr int64_t kSuperBlock = 256;  // elements per K-quant super-block

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

struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];  // 8 six-bit scales and 8 six-bit mins, packed (ggml get_scale_min_k4)
  uint8_t qs[128];     // groups 2j / 2j+1 in the low / high nibbles of qs[32j .. 32j+32)
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];      // bit g of qh[l]: the fifth bit of element l of group g
  uint8_t qs[128];
};
static_assert(sizeof(BlockQ5_K) == 176);

struct BlockQ6_K {
  uint8_t ql[128];     // low 4 bits
  uint8_t qh[64];      // high 2 bits
  int8_t scales[16];   // one per 16 elements
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// True for the K-quants (256-element super-blocks; read-only formats).
bool IsKQuantDType(DType dtype);

// "float32", "float16", "bfloat16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k".
const char* DTypeName(DType dtype);
// Accepts the names above and the short forms f32, f16, bf16 (case-sensitive); nullopt otherwise.
std::optional<DType> ParseDType(std::string_view name);

bool IsBlockDType(DType dtype);
// Elements per storage unit: 1, kQuantBlock, or kSuperBlock for K-quants.
int64_t DTypeBlockElems(DType dtype);
// Bytes per storage unit: 4, 2, 2, 34, 18, 20, 22, 24, 144, 176, 210.
size_t DTypeBlockBytes(DType dtype);
// Bytes of one row of `cols` elements; requires cols % DTypeBlockElems(dtype) == 0.
size_t DTypeRowBytes(DType dtype, int64_t cols);

}  // namespace attnserve

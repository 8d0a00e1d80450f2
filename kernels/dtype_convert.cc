// f32 <-> DType conversion: F16C `vcvtph2ps` for f16, a 16-bit shift for bf16, ggml's reference
// rounding for the block formats q8_0 / q4_0 / q4_1 / q5_0 / q5_1 (kernels/dtype_convert.h).
#include "kernels/dtype_convert.h"
#include "kernels/quant_blocks_avx2.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

namespace attnserve {

uint16_t F32ToF16Bits(float x) { return _cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT); }

uint16_t F32ToBF16Bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof(u));
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet nan
  u += 0x7fffu + ((u >> 16) & 1);  // round to nearest, ties to even
  return static_cast<uint16_t>(u >> 16);
}

namespace {

// src: f16 [n] (any alignment) -> dst: f32 [n].
void F16ToF32(const unsigned char* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i));
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i + 16));
    _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
    _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
  }
  for (; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    dst[i] = F16BitsToF32(bits);
  }
}

// src: bf16 [n] (any alignment) -> dst: f32 [n]. bf16 is the top half of an f32.
void BF16ToF32(const unsigned char* src, float* dst, size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256i halves = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + 2 * i));
    const __m256i lo = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(halves)), 16);
    const __m256i hi = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(halves, 1)), 16);
    _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(lo));
    _mm256_storeu_ps(dst + i + 8, _mm256_castsi256_ps(hi));
  }
  for (; i < n; ++i) {
    uint16_t bits;
    std::memcpy(&bits, src + 2 * i, 2);
    dst[i] = BF16BitsToF32(bits);
  }
}

// A decoded group's 32 lanes -> 4 × 8 f32: scale · lane + min (multiply, then add: two
// roundings, as ggml's and gguf-py's dequantizers), stored to out[0..32).
inline void StoreGroup(const quant::Group& g, float* out) {
  const __m128i lo = _mm256_castsi256_si128(g.q), hi = _mm256_extracti128_si256(g.q, 1);
  const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
  const __m256 min = _mm256_set1_ps(g.min);
  for (int p = 0; p < 4; ++p) {
    const __m256 scale = _mm256_set1_ps(p < 2 ? g.scale_lo : g.scale_hi);
    const __m256 v = _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[p])));
    _mm256_storeu_ps(out + 8 * p, g.min != 0.0f ? _mm256_add_ps(v, min) : v);
  }
}

// Any block format (kernels/quant_blocks_avx2.h) -> f32, group by group.
template <class B>
void BlocksToF32(const unsigned char* src, float* dst, size_t n) {
  const B* row = reinterpret_cast<const B*>(src);
  for (size_t b = 0; b < n / kQuantBlock; ++b) StoreGroup(quant::DecodeGroup(row, static_cast<int64_t>(b)), dst + b * kQuantBlock);
}

// float -> int8 / uint8 exactly as static_cast (truncation) for every value a finite weight
// produces; NaN and out-of-range values (from inf / NaN weights) give 0 or saturate instead of
// being undefined behaviour.
inline int8_t TruncToInt8(float v) {
  if (!(v > -129.0f && v < 128.0f)) return v >= 128.0f ? 127 : v <= -129.0f ? -128 : 0;
  return static_cast<int8_t>(v);
}
inline uint8_t TruncToUint8(float v) {
  if (!(v > -1.0f && v < 256.0f)) return v >= 256.0f ? 255 : 0;
  return static_cast<uint8_t>(v);
}

// The element of largest magnitude of a 32-block, with its sign (the first of equal magnitudes),
// as ggml's q4_0 / q5_0 reference quantizers pick it.
float LargestMagnitude(const float* x) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < kQuantBlock; ++i) {
    if (amax < std::fabs(x[i])) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// ggml quantize_row_q8_0_ref: d = max|x| / 127, q = round(x / d).
void F32ToQ8_0(const float* src, unsigned char* dst, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float* x = src + b * kQuantBlock;
    float amax = 0.0f;
    for (int i = 0; i < kQuantBlock; ++i) amax = std::max(amax, std::fabs(x[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 block;
    block.d = F32ToF16Bits(d);
    for (int i = 0; i < kQuantBlock; ++i) block.qs[i] = TruncToInt8(std::roundf(x[i] * id));
    std::memcpy(dst + b * sizeof(BlockQ8_0), &block, sizeof(block));
  }
}

// ggml quantize_row_q4_0_ref: the value of largest magnitude maps to -8, d = that value / -8,
// q = min(15, trunc(x / d + 8.5)).
void F32ToQ4_0(const float* src, unsigned char* dst, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float* x = src + b * kQuantBlock;
    const float max = LargestMagnitude(x);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 block;
    block.d = F32ToF16Bits(d);
    for (int i = 0; i < 16; ++i) {
      const int lo = std::min(15, static_cast<int>(TruncToInt8(x[i] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(TruncToInt8(x[i + 16] * id + 8.5f)));
      block.qs[i] = static_cast<uint8_t>(lo | (hi << 4));
    }
    std::memcpy(dst + b * sizeof(BlockQ4_0), &block, sizeof(block));
  }
}

// The low nibbles of 32 values in [0, 15] (or the low 4 bits of values in [0, 31]) as qs, and
// their fifth bits as the little-endian u32 qh.
void PackNibbles(const int* q, uint8_t* qs, uint8_t* qh) {
  uint32_t high = 0;
  for (int j = 0; j < 16; ++j) {
    qs[j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
    high |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    high |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  if (qh != nullptr) std::memcpy(qh, &high, 4);
}

// ggml quantize_row_q4_1_ref / q5_1_ref: d = (max - min) / (2^bits - 1), m = min,
// q = trunc((x - min) / d + 0.5) (q4_1 clamped to 15).
template <class B, int kBits>
void F32ToMinBlocks(const float* src, unsigned char* dst, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float* x = src + b * kQuantBlock;
    float min = x[0], max = x[0];
    for (int i = 1; i < kQuantBlock; ++i) {
      min = std::min(min, x[i]);
      max = std::max(max, x[i]);
    }
    const float d = (max - min) / ((1 << kBits) - 1);
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    B block;
    block.d = F32ToF16Bits(d);
    block.m = F32ToF16Bits(min);
    int q[32];
    for (int i = 0; i < kQuantBlock; ++i) {
      const float v = (x[i] - min) * id;
      q[i] = kBits == 4 ? std::min(15, static_cast<int>(TruncToInt8(v + 0.5f)))
                        : static_cast<int>(TruncToUint8(v + 0.5f));
    }
    if constexpr (kBits == 4) {
      PackNibbles(q, block.qs, nullptr);
    } else {
      PackNibbles(q, block.qs, block.qh);
    }
    std::memcpy(dst + b * sizeof(B), &block, sizeof(block));
  }
}

// ggml quantize_row_q5_0_ref: the value of largest magnitude maps to -16, d = that value / -16,
// q = min(31, trunc(x / d + 16.5)).
void F32ToQ5_0(const float* src, unsigned char* dst, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float* x = src + b * kQuantBlock;
    const float max = LargestMagnitude(x);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 block;
    block.d = F32ToF16Bits(d);
    int q[32];
    for (int i = 0; i < kQuantBlock; ++i) q[i] = std::min(31, static_cast<int>(TruncToInt8(x[i] * id + 16.5f)));
    PackNibbles(q, block.qs, block.qh);
    std::memcpy(dst + b * sizeof(BlockQ5_0), &block, sizeof(block));
  }
}

}  // namespace

void ConvertToF32(DType dtype, const void* src, float* dst, size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  switch (dtype) {
    case DType::kF32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::kF16: F16ToF32(bytes, dst, n); return;
    case DType::kBF16: BF16ToF32(bytes, dst, n); return;
    case DType::kQ8_0: BlocksToF32<BlockQ8_0>(bytes, dst, n); return;
    case DType::kQ4_0: BlocksToF32<BlockQ4_0>(bytes, dst, n); return;
    case DType::kQ4_1: BlocksToF32<BlockQ4_1>(bytes, dst, n); return;
    case DType::kQ5_0: BlocksToF32<BlockQ5_0>(bytes, dst, n); return;
    case DType::kQ5_1: BlocksToF32<BlockQ5_1>(bytes, dst, n); return;
    case DType::kQ4_K: BlocksToF32<BlockQ4_K>(bytes, dst, n); return;
    case DType::kQ5_K: BlocksToF32<BlockQ5_K>(bytes, dst, n); return;
    case DType::kQ6_K: BlocksToF32<BlockQ6_K>(bytes, dst, n); return;
  }
}

void ConvertFromF32(DType dtype, const float* src, void* dst, size_t n) {
  auto* bytes = static_cast<unsigned char*>(dst);
  switch (dtype) {
    case DType::kF32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::kF16:
    case DType::kBF16:
      for (size_t i = 0; i < n; ++i) {
        const uint16_t bits = dtype == DType::kF16 ? F32ToF16Bits(src[i]) : F32ToBF16Bits(src[i]);
        std::memcpy(bytes + 2 * i, &bits, 2);
      }
      return;
    case DType::kQ8_0: F32ToQ8_0(src, bytes, n); return;
    case DType::kQ4_0: F32ToQ4_0(src, bytes, n); return;
    case DType::kQ4_1: F32ToMinBlocks<BlockQ4_1, 4>(src, bytes, n); return;
    case DType::kQ5_0: F32ToQ5_0(src, bytes, n); return;
    case DType::kQ5_1: F32ToMinBlocks<BlockQ5_1, 5>(src, bytes, n); return;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      // Read-only formats: callers check IsKQuantDType first (engine/loader/weight_store.cc).
      std::abort();
  }
}

}  // namespace attnserve

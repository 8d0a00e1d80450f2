// f32 <-> DType conversion: F16C `vcvtph2ps` for f16, a 16-bit shift for bf16, ggml's reference
// rounding for q8_0 / q4_0 (kernels/dtype_convert.h).
#include "kernels/dtype_convert.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
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

// 32 int8 lanes -> 4 × 8 f32 lanes times d, stored to out[0..32).
inline void StoreScaledI8(__m256i q, float d, float* out) {
  const __m256 scale = _mm256_set1_ps(d);
  const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
  _mm256_storeu_ps(out, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(lo))));
  _mm256_storeu_ps(out + 8, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(lo, 8)))));
  _mm256_storeu_ps(out + 16, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(hi))));
  _mm256_storeu_ps(out + 24, _mm256_mul_ps(scale, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(hi, 8)))));
}

void Q8_0ToF32(const unsigned char* src, float* dst, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const unsigned char* block = src + b * sizeof(BlockQ8_0);
    uint16_t d;
    std::memcpy(&d, block, 2);
    const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(block + 2));
    StoreScaledI8(q, F16BitsToF32(d), dst + b * kQuantBlock);
  }
}

// Nibbles: element i < 16 is the low nibble of byte i, element i + 16 its high nibble; minus 8.
void Q4_0ToF32(const unsigned char* src, float* dst, size_t n) {
  const __m128i low4 = _mm_set1_epi8(15);
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const unsigned char* block = src + b * sizeof(BlockQ4_0);
    uint16_t d;
    std::memcpy(&d, block, 2);
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2));
    const __m256i q = _mm256_sub_epi8(
        _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low4), _mm_and_si128(v, low4)),
        _mm256_set1_epi8(8));
    StoreScaledI8(q, F16BitsToF32(d), dst + b * kQuantBlock);
  }
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
    for (int i = 0; i < kQuantBlock; ++i) block.qs[i] = static_cast<int8_t>(std::roundf(x[i] * id));
    std::memcpy(dst + b * sizeof(BlockQ8_0), &block, sizeof(block));
  }
}

// ggml quantize_row_q4_0_ref: the value of largest magnitude maps to -8, d = that value / -8,
// q = min(15, trunc(x / d + 8.5)).
void F32ToQ4_0(const float* src, unsigned char* dst, size_t n) {
  for (size_t b = 0; b < n / kQuantBlock; ++b) {
    const float* x = src + b * kQuantBlock;
    float amax = 0.0f, max = 0.0f;
    for (int i = 0; i < kQuantBlock; ++i) {
      if (amax < std::fabs(x[i])) {
        amax = std::fabs(x[i]);
        max = x[i];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_0 block;
    block.d = F32ToF16Bits(d);
    for (int i = 0; i < 16; ++i) {
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(x[i] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(x[i + 16] * id + 8.5f)));
      block.qs[i] = static_cast<uint8_t>(lo | (hi << 4));
    }
    std::memcpy(dst + b * sizeof(BlockQ4_0), &block, sizeof(block));
  }
}

}  // namespace

void ConvertToF32(DType dtype, const void* src, float* dst, size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  switch (dtype) {
    case DType::kF32: std::memcpy(dst, src, n * sizeof(float)); return;
    case DType::kF16: F16ToF32(bytes, dst, n); return;
    case DType::kBF16: BF16ToF32(bytes, dst, n); return;
    case DType::kQ8_0: Q8_0ToF32(bytes, dst, n); return;
    case DType::kQ4_0: Q4_0ToF32(bytes, dst, n); return;
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
  }
}

}  // namespace attnserve

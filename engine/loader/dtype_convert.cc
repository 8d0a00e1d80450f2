// f16 / bf16 -> f32 conversion: F16C `vcvtph2ps` for f16, a 16-bit left shift for bf16, 8 lanes a step.
#include "engine/loader/dtype_convert.h"

#include <immintrin.h>

#include <cstring>

namespace attnserve {

size_t DTypeSize(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

float F16BitsToF32(uint16_t bits) { return _cvtsh_ss(bits); }

float BF16BitsToF32(uint16_t bits) {
  const uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float out;
  std::memcpy(&out, &widened, sizeof(out));
  return out;
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

}  // namespace

void ConvertToF32(DType dtype, const void* src, float* dst, size_t n) {
  const auto* bytes = static_cast<const unsigned char*>(src);
  switch (dtype) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16:
      F16ToF32(bytes, dst, n);
      return;
    case DType::kBF16:
      BF16ToF32(bytes, dst, n);
      return;
  }
}

}  // namespace attnserve

// The one decoding of ggml's 32-element block formats (layouts in kernels/dtype.h), for the
// widening conversions (kernels/dtype_convert.cc) and the CPU integer block dots
// (kernels/cpu/gemm_typed_avx2.cc): each block type's traits unpack its 32 quants into the 32
// int8 lanes of an AVX2 register (lane i = element i) and give its scale d and minimum m, so
//   x[i] = d · lane[i] + m        (m = 0 for the formats without a minimum).
// kUnsigned: lanes are in [0, 31] (formats with a minimum), else signed in [-128, 127].
// Requires AVX2 (the build floor); inline, header-only, pure.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "kernels/dtype.h"

namespace attnserve::quant {

inline float HalfToFloat(uint16_t bits) { return _cvtsh_ss(bits); }

// The 16 bytes of qs as 32 nibbles: lane i < 16 = qs[i] & 15, lane i + 16 = qs[i] >> 4.
inline __m256i Nibbles(const uint8_t* qs) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i low4 = _mm_set1_epi8(15);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), low4), _mm_and_si128(v, low4));
}

// The 32 bits of qh (little-endian) as lanes of 16 (bit i set) or 0.
inline __m256i FifthBits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // Lane i takes byte i / 8 of the word (shuffles stay within 128-bit halves; every 4-byte group
  // of the broadcast holds the whole word), then tests its bit i % 8.
  const __m256i select = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                          2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i bit = _mm256_setr_epi8(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128,
                                       1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  const __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int32_t>(bits)), select);
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(16));
}

template <class B>
struct Traits;

template <>
struct Traits<BlockQ8_0> {
  static constexpr bool kUnsigned = false;
  static __m256i Unpack(const BlockQ8_0& b) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)); }
  static float Min(const BlockQ8_0&) { return 0.0f; }
};

template <>
struct Traits<BlockQ4_0> {
  static constexpr bool kUnsigned = false;
  static __m256i Unpack(const BlockQ4_0& b) { return _mm256_sub_epi8(Nibbles(b.qs), _mm256_set1_epi8(8)); }
  static float Min(const BlockQ4_0&) { return 0.0f; }
};

template <>
struct Traits<BlockQ4_1> {
  static constexpr bool kUnsigned = true;
  static __m256i Unpack(const BlockQ4_1& b) { return Nibbles(b.qs); }
  static float Min(const BlockQ4_1& b) { return HalfToFloat(b.m); }
};

template <>
struct Traits<BlockQ5_0> {
  static constexpr bool kUnsigned = false;
  static __m256i Unpack(const BlockQ5_0& b) {
    return _mm256_sub_epi8(_mm256_or_si256(Nibbles(b.qs), FifthBits(b.qh)), _mm256_set1_epi8(16));
  }
  static float Min(const BlockQ5_0&) { return 0.0f; }
};

template <>
struct Traits<BlockQ5_1> {
  static constexpr bool kUnsigned = true;
  static __m256i Unpack(const BlockQ5_1& b) { return _mm256_or_si256(Nibbles(b.qs), FifthBits(b.qh)); }
  static float Min(const BlockQ5_1& b) { return HalfToFloat(b.m); }
};

template <class B>
inline float Scale(const B& b) {
  return HalfToFloat(b.d);
}

}  // namespace attnserve::quant

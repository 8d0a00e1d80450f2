// The one decoding of ggml's block formats (layouts in kernels/dtype.h), for the widening
// conversions (kernels/dtype_convert.cc) and the CPU block dots (kernels/cpu/gemm_typed_avx2.cc,
// gemm_block_f32_avx2.cc). A row is a sequence of 32-element groups (a 32-element block is one
// group; a K-quant super-block holds 8): DecodeGroup gives group b's 32 quants in the 32 int8 lanes
// of an AVX2 register (lane i = element i), the scale of lanes 0-15 and of lanes 16-31 (they differ
// only in q6_k, whose scales cover 16 elements) and the minimum m, so
//   x[i] = scale(i) · lane[i] + m        (m = 0 for the formats without a minimum).
// kUnsigned: lanes are in [0, 63] (formats with a minimum), else signed in [-128, 127].
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

// A decoded group of 32 elements.
struct Group {
  __m256i q;
  float scale_lo, scale_hi;  // of lanes 0-15 and 16-31
  float min;
};

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

// K-quants: 8 six-bit scales and mins packed in 12 bytes (ggml's get_scale_min_k4).
inline void ScaleMinK4(int g, const uint8_t* q, int* scale, int* min) {
  if (g < 4) {
    *scale = q[g] & 63;
    *min = q[g + 4] & 63;
  } else {
    *scale = (q[g + 4] & 0xF) | ((q[g - 4] >> 6) << 4);
    *min = (q[g + 4] >> 4) | ((q[g] >> 6) << 4);
  }
}

// 32 bytes: their low (high = false) or high nibbles.
inline __m256i Nibbles32(const uint8_t* p, bool high) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm256_and_si256(high ? _mm256_srli_epi16(v, 4) : v, _mm256_set1_epi8(15));
}

// Bits [shift, shift + width) of each of 32 bytes, as the values of lanes (width 1 or 2).
inline __m256i BitField32(const uint8_t* p, int shift, int width) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm256_and_si256(_mm256_srl_epi16(v, _mm_cvtsi32_si128(shift)), _mm256_set1_epi8(static_cast<char>((1 << width) - 1)));
}

template <>
struct Traits<BlockQ4_K> {
  static constexpr bool kUnsigned = true;
  static constexpr int kGroups = 8;
  static Group Decode(const BlockQ4_K& b, int g) {
    int sc, m;
    ScaleMinK4(g, b.scales, &sc, &m);
    const float scale = HalfToFloat(b.d) * static_cast<float>(sc);
    return {Nibbles32(b.qs + 32 * (g / 2), g & 1), scale, scale, -(HalfToFloat(b.dmin) * static_cast<float>(m))};
  }
};

template <>
struct Traits<BlockQ5_K> {
  static constexpr bool kUnsigned = true;
  static constexpr int kGroups = 8;
  static Group Decode(const BlockQ5_K& b, int g) {
    int sc, m;
    ScaleMinK4(g, b.scales, &sc, &m);
    const float scale = HalfToFloat(b.d) * static_cast<float>(sc);
    const __m256i q = _mm256_or_si256(Nibbles32(b.qs + 32 * (g / 2), g & 1),
                                      _mm256_slli_epi16(BitField32(b.qh, g, 1), 4));
    return {q, scale, scale, -(HalfToFloat(b.dmin) * static_cast<float>(m))};
  }
};

template <>
struct Traits<BlockQ6_K> {
  static constexpr bool kUnsigned = false;
  static constexpr int kGroups = 8;
  static Group Decode(const BlockQ6_K& b, int g) {
    const int half = g / 4, gg = g % 4;
    const __m256i low = Nibbles32(b.ql + 64 * half + 32 * (gg & 1), gg >= 2);
    const __m256i high = _mm256_slli_epi16(BitField32(b.qh + 32 * half, 2 * gg, 2), 4);
    const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, high), _mm256_set1_epi8(32));
    const float d = HalfToFloat(b.d);
    const int8_t* sc = b.scales + 8 * half + 2 * gg;
    return {q, d * static_cast<float>(sc[0]), d * static_cast<float>(sc[1]), 0.0f};
  }
};

// 32-element groups per block: 1, or 8 for the K-quants.
template <class B>
constexpr int GroupsPerBlock() {
  if constexpr (requires { Traits<B>::kGroups; }) {
    return Traits<B>::kGroups;
  } else {
    return 1;
  }
}

// Group b (0-based over the row) of a row of blocks of type B.
template <class B>
inline Group DecodeGroup(const B* row, int64_t b) {
  if constexpr (GroupsPerBlock<B>() > 1) {
    constexpr int kG = GroupsPerBlock<B>();
    return Traits<B>::Decode(row[b / kG], static_cast<int>(b % kG));
  } else {
    const B& blk = row[b];
    const float d = Scale(blk);
    return {Traits<B>::Unpack(blk), d, d, Traits<B>::Min(blk)};
  }
}

}  // namespace attnserve::quant

// AVX2+FMA micro-kernels of the tiled CPU attention (see flash_attention_tiles.h).
//
//   ScoreTile:      Sᵀ[KR keys][NV·8 rows] += k_j[d] (broadcast) × Qt[d][8 rows] (load)
//                   over d = 0..head_dim-1; KR×NV = 6×2 (12 accumulators), or 8×1 for a
//                   single row vector (decode)
//   SoftmaxTile:    per score, optional ALiBi fma (slope·log2e × (k − p)) and mask blend, then
//                   the online max / exp2 / sum over the tile's keys, 8 rows per vector
//   AccumulateTile: O[MR rows][NV·8 dims] += Pᵀ[j][r] (broadcast) × V_j[8 dims] (load)
//                   over the tile's keys j; MR×NV = 6×2, or 3×4 when a tile has <= 3 rows
//                   (decode of a GQA group)
#include "kernels/cpu/flash_attention_tiles.h"

#include <immintrin.h>

#include <algorithm>
#include <limits>

namespace attnserve::cpu {
namespace {

// ---- Scores ----------------------------------------------------------------------------------

// s[j * ld + 8v + lane] = Σ_d k[j][d] · qt[d * ld + 8v + lane]   for j < KR, v < NV.
template <int KR, int NV>
inline void ScoreMicro(const float* qt, int64_t ld, const float* const* k, int64_t head_dim,
                       float* s) {
  __m256 acc[KR][NV];
#pragma GCC unroll 8
  for (int j = 0; j < KR; ++j)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[j][v] = _mm256_setzero_ps();
  const float* kj[KR];
#pragma GCC unroll 8
  for (int j = 0; j < KR; ++j) kj[j] = k[j];
#pragma GCC unroll 4
  for (int64_t d = 0; d < head_dim; ++d) {
    __m256 q[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) q[v] = _mm256_loadu_ps(qt + d * ld + 8 * v);
#pragma GCC unroll 8
    for (int j = 0; j < KR; ++j) {
      const __m256 kb = _mm256_broadcast_ss(kj[j] + d);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[j][v] = _mm256_fmadd_ps(kb, q[v], acc[j][v]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < KR; ++j)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(s + j * ld + 8 * v, acc[j][v]);
}

// All keys against NV row vectors starting at qt / s (column offsets already applied).
template <int NV>
void ScoreRows(const float* qt, int64_t ld, const float* const* k, int64_t count, int64_t head_dim,
               float* s) {
  constexpr int KR = NV == 1 ? 8 : 6;
  int64_t j = 0;
  for (; j + KR <= count; j += KR) ScoreMicro<KR, NV>(qt, ld, k + j, head_dim, s + j * ld);
  float* sj = s + j * ld;
  switch (count - j) {
    case 7: ScoreMicro<7, NV>(qt, ld, k + j, head_dim, sj); break;
    case 6: ScoreMicro<6, NV>(qt, ld, k + j, head_dim, sj); break;
    case 5: ScoreMicro<5, NV>(qt, ld, k + j, head_dim, sj); break;
    case 4: ScoreMicro<4, NV>(qt, ld, k + j, head_dim, sj); break;
    case 3: ScoreMicro<3, NV>(qt, ld, k + j, head_dim, sj); break;
    case 2: ScoreMicro<2, NV>(qt, ld, k + j, head_dim, sj); break;
    case 1: ScoreMicro<1, NV>(qt, ld, k + j, head_dim, sj); break;
    default: break;
  }
}

// ---- Softmax ---------------------------------------------------------------------------------

// Online-softmax update of NV row vectors (rows 8·v0 ..) over all keys of the tile; kPartial:
// per-element mask, kAlibi: ALiBi bias (see SoftmaxTile).
template <int NV, bool kPartial, bool kAlibi>
inline void SoftmaxRows(float* s, int64_t count, int64_t ld, const int32_t* key_pos,
                        const int32_t* key_flag, const TileRows& rows, float* m, float* l,
                        float* alpha) {
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  __m256 tile_max[NV], slope[NV];
  __m256i pos1[NV], low1[NV];
  for (int v = 0; v < NV; ++v) {
    tile_max[v] = neg_inf;
    if constexpr (kPartial || kAlibi)
      pos1[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows.pos1 + 8 * v));
    if constexpr (kPartial)
      low1[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows.low1 + 8 * v));
    if constexpr (kAlibi) slope[v] = _mm256_loadu_ps(rows.alibi + 8 * v);
  }
  for (int64_t j = 0; j < count; ++j) {
    __m256i key, key1, flag;
    if constexpr (kPartial || kAlibi) key = _mm256_set1_epi32(key_pos[j]);
    if constexpr (kPartial) flag = _mm256_set1_epi32(key_flag[j]);
    if constexpr (kAlibi) key1 = _mm256_set1_epi32(key_pos[j] + 1);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      __m256 x = _mm256_loadu_ps(s + j * ld + 8 * v);
      if constexpr (kAlibi) {  // k − p = (k + 1) − pos1, exact in int32 and in f32 (< 2^24)
        const __m256 distance = _mm256_cvtepi32_ps(_mm256_sub_epi32(key1, pos1[v]));
        x = _mm256_fmadd_ps(slope[v], distance, x);
      }
      if constexpr (kPartial) {
        const __m256i visible =
            _mm256_and_si256(_mm256_cmpgt_epi32(pos1[v], key),
                             _mm256_or_si256(_mm256_cmpgt_epi32(key, low1[v]), flag));
        x = _mm256_blendv_ps(neg_inf, x, _mm256_castsi256_ps(visible));
      }
      if constexpr (kPartial || kAlibi) _mm256_storeu_ps(s + j * ld + 8 * v, x);
      tile_max[v] = _mm256_max_ps(tile_max[v], x);
    }
  }
  __m256 new_max[NV], sum[NV];
  for (int v = 0; v < NV; ++v) {
    const __m256 old_max = _mm256_loadu_ps(m + 8 * v);
    new_max[v] = _mm256_max_ps(old_max, tile_max[v]);
    _mm256_storeu_ps(alpha + 8 * v, Exp2(_mm256_sub_ps(old_max, new_max[v])));
    _mm256_storeu_ps(m + 8 * v, new_max[v]);
    sum[v] = _mm256_setzero_ps();
  }
  for (int64_t j = 0; j < count; ++j) {
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) {
      const __m256 p = Exp2(_mm256_sub_ps(_mm256_loadu_ps(s + j * ld + 8 * v), new_max[v]));
      _mm256_storeu_ps(s + j * ld + 8 * v, p);
      sum[v] = _mm256_add_ps(sum[v], p);
    }
  }
  for (int v = 0; v < NV; ++v) {
    const __m256 a = _mm256_loadu_ps(alpha + 8 * v);
    _mm256_storeu_ps(l + 8 * v, _mm256_fmadd_ps(_mm256_loadu_ps(l + 8 * v), a, sum[v]));
  }
}

template <bool kPartial, bool kAlibi>
void SoftmaxAll(float* s, int64_t count, int64_t rows_pad, const int32_t* key_pos,
                const int32_t* key_flag, const TileRows& rows, float* m, float* l, float* alpha) {
  for (int64_t r = 0; r < rows_pad; r += 32) {
    const TileRows at{rows.pos1 + r, rows.low1 + r, kAlibi ? rows.alibi + r : nullptr};
    float *sr = s + r, *mr = m + r, *lr = l + r, *ar = alpha + r;
    switch (std::min<int64_t>(4, (rows_pad - r) / 8)) {
      case 4:
        SoftmaxRows<4, kPartial, kAlibi>(sr, count, rows_pad, key_pos, key_flag, at, mr, lr, ar);
        break;
      case 3:
        SoftmaxRows<3, kPartial, kAlibi>(sr, count, rows_pad, key_pos, key_flag, at, mr, lr, ar);
        break;
      case 2:
        SoftmaxRows<2, kPartial, kAlibi>(sr, count, rows_pad, key_pos, key_flag, at, mr, lr, ar);
        break;
      default:
        SoftmaxRows<1, kPartial, kAlibi>(sr, count, rows_pad, key_pos, key_flag, at, mr, lr, ar);
        break;
    }
  }
}

// ---- P·V -------------------------------------------------------------------------------------

// o[r * ldo + 8v + lane] = alpha[r] · o[..] + Σ_j p[j * ld + r] · v[j][d0 + 8v + lane] for r < MR,
// v < NV; with kTail the last vector reads only `tail` dims of V (masked load).
template <int MR, int NV, bool kTail>
inline void AccumulateMicro(const float* p, int64_t ld, const float* const* vrows, int64_t d0,
                            int64_t count, const float* alpha, float* o, int64_t ldo,
                            __m256i tail) {
  __m256 acc[MR][NV];
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r) {
    const __m256 a = _mm256_broadcast_ss(alpha + r);
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_mul_ps(_mm256_loadu_ps(o + r * ldo + 8 * v), a);
  }
  auto load_v = [&](const float* vj, int v) {
    if (kTail && v == NV - 1) return _mm256_maskload_ps(vj + 8 * v, tail);
    return _mm256_loadu_ps(vj + 8 * v);
  };
#pragma GCC unroll 2
  for (int64_t j = 0; j < count; ++j) {
    const float* vj = vrows[j] + d0;
    const float* pj = p + j * ld;
    if constexpr (NV <= 2) {  // V vectors held, one broadcast at a time: MR·NV + NV + 1 registers
      __m256 vv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) vv[v] = load_v(vj, v);
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        const __m256 pb = _mm256_broadcast_ss(pj + r);
#pragma GCC unroll 4
        for (int v = 0; v < NV; ++v) acc[r][v] = _mm256_fmadd_ps(pb, vv[v], acc[r][v]);
      }
    } else {  // broadcasts held, one V vector at a time: MR·NV + MR + 1 registers
      __m256 pb[MR];
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) pb[r] = _mm256_broadcast_ss(pj + r);
#pragma GCC unroll 4
      for (int v = 0; v < NV; ++v) {
        const __m256 vv = load_v(vj, v);
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) acc[r][v] = _mm256_fmadd_ps(pb[r], vv, acc[r][v]);
      }
    }
  }
#pragma GCC unroll 6
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < NV; ++v) _mm256_storeu_ps(o + r * ldo + 8 * v, acc[r][v]);
}

template <int MR, int NV>
inline void AccumulateBlock(bool has_tail, const float* p, int64_t ld, const float* const* vrows,
                            int64_t d0, int64_t count, const float* alpha, float* o, int64_t ldo,
                            __m256i tail) {
  if (has_tail) {
    AccumulateMicro<MR, NV, true>(p, ld, vrows, d0, count, alpha, o, ldo, tail);
  } else {
    AccumulateMicro<MR, NV, false>(p, ld, vrows, d0, count, alpha, o, ldo, tail);
  }
}

// MR rows (starting at p / alpha / o) over all head_dim columns.
template <int MR>
void AccumulateRows(const float* p, int64_t ld, const float* const* vrows, int64_t count,
                    int64_t head_dim, const float* alpha, float* o, int64_t ldo) {
  constexpr int NVB = MR <= 3 ? 4 : 2;
  const int64_t vecs = (head_dim + 7) / 8, tail_dims = head_dim % 8;
  const __m256i tail = TailMask(tail_dims == 0 ? 8 : tail_dims);
  int64_t v = 0;
  for (; v + NVB <= vecs; v += NVB)
    AccumulateBlock<MR, NVB>(tail_dims != 0 && v + NVB == vecs, p, ld, vrows, 8 * v, count, alpha,
                             o + 8 * v, ldo, tail);
  const bool has_tail = tail_dims != 0;
  switch (vecs - v) {
    case 3:
      AccumulateBlock<MR, 3>(has_tail, p, ld, vrows, 8 * v, count, alpha, o + 8 * v, ldo, tail);
      break;
    case 2:
      AccumulateBlock<MR, 2>(has_tail, p, ld, vrows, 8 * v, count, alpha, o + 8 * v, ldo, tail);
      break;
    case 1:
      AccumulateBlock<MR, 1>(has_tail, p, ld, vrows, 8 * v, count, alpha, o + 8 * v, ldo, tail);
      break;
    default: break;
  }
}

}  // namespace

void PackQueries(const float* const* q_rows, int64_t rows, int64_t rows_pad, int64_t head_dim,
                 float factor, float* qt) {
  for (int64_t r = 0; r < rows_pad; ++r) {
    const float* q = r < rows ? q_rows[r] : nullptr;
    for (int64_t d = 0; d < head_dim; ++d) qt[d * rows_pad + r] = q ? q[d] * factor : 0.0f;
  }
}

void ScoreTile(const float* qt, int64_t rows_pad, const float* const* k_rows, int64_t count,
               int64_t head_dim, float* s) {
  const int64_t vecs = rows_pad / 8;
  int64_t v = 0;
  for (; v + 2 <= vecs; v += 2)
    ScoreRows<2>(qt + 8 * v, rows_pad, k_rows, count, head_dim, s + 8 * v);
  if (v < vecs) ScoreRows<1>(qt + 8 * v, rows_pad, k_rows, count, head_dim, s + 8 * v);
}

void SoftmaxTile(float* s, int64_t count, int64_t rows_pad, const int32_t* key_pos,
                 const int32_t* key_flag, bool partial, const TileRows& rows, float* m, float* l,
                 float* alpha) {
  const bool alibi = rows.alibi != nullptr;
  if (partial && alibi) {
    SoftmaxAll<true, true>(s, count, rows_pad, key_pos, key_flag, rows, m, l, alpha);
  } else if (partial) {
    SoftmaxAll<true, false>(s, count, rows_pad, key_pos, key_flag, rows, m, l, alpha);
  } else if (alibi) {
    SoftmaxAll<false, true>(s, count, rows_pad, key_pos, key_flag, rows, m, l, alpha);
  } else {
    SoftmaxAll<false, false>(s, count, rows_pad, key_pos, key_flag, rows, m, l, alpha);
  }
}

void AccumulateTile(const float* s, int64_t rows_pad, const float* const* v_rows, int64_t count,
                    int64_t rows, int64_t head_dim, const float* alpha, float* o, int64_t ldo) {
  int64_t r = 0;
  if (rows > 3) {
    for (; r + 6 <= rows; r += 6)
      AccumulateRows<6>(s + r, rows_pad, v_rows, count, head_dim, alpha + r, o + r * ldo, ldo);
  }
  const float *sr = s + r, *ar = alpha + r;
  float* orow = o + r * ldo;
  switch (rows - r) {
    case 5: AccumulateRows<5>(sr, rows_pad, v_rows, count, head_dim, ar, orow, ldo); break;
    case 4: AccumulateRows<4>(sr, rows_pad, v_rows, count, head_dim, ar, orow, ldo); break;
    case 3: AccumulateRows<3>(sr, rows_pad, v_rows, count, head_dim, ar, orow, ldo); break;
    case 2: AccumulateRows<2>(sr, rows_pad, v_rows, count, head_dim, ar, orow, ldo); break;
    case 1: AccumulateRows<1>(sr, rows_pad, v_rows, count, head_dim, ar, orow, ldo); break;
    default: break;
  }
}

void ResetState(int64_t rows, int64_t rows_pad, int64_t ldo, float* m, float* l, float* o) {
  std::fill(m, m + rows_pad, kEmptyRowMax);
  std::fill(l, l + rows_pad, 0.0f);
  std::fill(o, o + rows * ldo, 0.0f);
}

void MergeState(const float* m_src, const float* l_src, const float* o_src, int64_t rows,
                int64_t rows_pad, int64_t ldo, float* m, float* l, float* o) {
  alignas(32) float a_dst[8], a_src[8];
  for (int64_t r0 = 0; r0 < rows_pad; r0 += 8) {
    const __m256 md = _mm256_loadu_ps(m + r0), ms = _mm256_loadu_ps(m_src + r0);
    const __m256 mm = _mm256_max_ps(md, ms);
    const __m256 ad = Exp2(_mm256_sub_ps(md, mm)), as = Exp2(_mm256_sub_ps(ms, mm));
    _mm256_storeu_ps(m + r0, mm);
    _mm256_storeu_ps(l + r0, _mm256_fmadd_ps(_mm256_loadu_ps(l + r0), ad,
                                             _mm256_mul_ps(_mm256_loadu_ps(l_src + r0), as)));
    _mm256_store_ps(a_dst, ad);
    _mm256_store_ps(a_src, as);
    for (int64_t r = r0; r < std::min(rows, r0 + 8); ++r) {
      const __m256 vd = _mm256_set1_ps(a_dst[r - r0]), vs = _mm256_set1_ps(a_src[r - r0]);
      float* od = o + r * ldo;
      const float* os = o_src + r * ldo;
      for (int64_t d = 0; d < ldo; d += 8)
        _mm256_storeu_ps(od + d, _mm256_fmadd_ps(_mm256_loadu_ps(od + d), vd,
                                                 _mm256_mul_ps(_mm256_loadu_ps(os + d), vs)));
    }
  }
}

void NormalizeRow(const float* o, float l, int64_t head_dim, float* out) {
  if (!(l > 0.0f)) {
    std::fill(out, out + head_dim, 0.0f);
    return;
  }
  const __m256 vl = _mm256_set1_ps(l);
  int64_t d = 0;
  for (; d + 8 <= head_dim; d += 8)
    _mm256_storeu_ps(out + d, _mm256_div_ps(_mm256_loadu_ps(o + d), vl));
  for (; d < head_dim; ++d) out[d] = o[d] / l;
}

}  // namespace attnserve::cpu

// Register-blocked AVX2+FMA steps of the tiled (FlashAttention-style) CPU attention, for one query
// tile of `rows` rows against one key tile of `count` <= kMaxTileKeys keys. A row is one query
// head of the KV group at one query of the tile (attention.cc lays them out head-major), so all
// rows share the tile's K/V rows:
//
//   qt  f32[head_dim, rows_pad]  queries transposed, times scale·log2(e) (scores in log2 units)
//   s   f32[count, rows_pad]     Sᵀ = K·Qt, then the probabilities Pᵀ in place
//   o   f32[rows, ldo]           unnormalised output accumulator (ldo >= head_dim, multiple of 8)
//   m, l f32[rows_pad]           running max (log2 units) and running sum of 2^(s - m)
//
// rows_pad is rows rounded up to 8: one __m256 holds 8 rows, so the softmax statistics over keys
// are vertical (no horizontal reductions). Each score is one FMA chain over d and each output one
// chain over the keys in order, whatever register tile a row lands in; with masked scores giving
// exact zeros this makes a query's result independent of which queries share its tile.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace attnserve::cpu {

// 2^x lane-wise, ~1 ulp (Cephes exp2f polynomial on [-0.5, 0.5]). 2^0 is exactly 1, and x <= -127
// (including -inf) gives exactly +0, which is what masked scores and empty rows rely on.
inline __m256 Exp2(__m256 x) {
  x = _mm256_max_ps(x, _mm256_set1_ps(-127.0f));
  x = _mm256_min_ps(x, _mm256_set1_ps(127.0f));
  const __m256 n = _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m256 f = _mm256_sub_ps(x, n);
  __m256 p = _mm256_set1_ps(1.535336188319500e-4f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.339887440266574e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618437357674640e-3f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550332471162809e-2f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402264791363012e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931472028550421e-1f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// Lanes [0, tail) set, tail in 1..8.
inline __m256i TailMask(int64_t tail) {
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(int(tail)),
                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// Running max of a row that has seen no key yet (finite, so 2^(m - m') never meets inf - inf).
constexpr float kEmptyRowMax = -1e30f;

// qt[d * rows_pad + r] = q_rows[r][d] * factor for r < rows; 0 for rows <= r < rows_pad.
// q_rows: rows pointers to f32[head_dim].
void PackQueries(const float* const* q_rows, int64_t rows, int64_t rows_pad, int64_t head_dim,
                 float factor, float* qt);

// s[j * rows_pad + r] = Σ_d k_rows[j][d] · qt[d * rows_pad + r]   (j < count, r < rows_pad).
// k_rows: count pointers to f32[head_dim] (the key rows at the KV head's column).
void ScoreTile(const float* qt, int64_t rows_pad, const float* const* k_rows, int64_t count,
               int64_t head_dim, float* s);

// Per-row parameters of a query tile, [rows_pad] each: pos1 = p + 1 and low1 = low(p) - 1 (int32,
// see attention_key_plan.h; padding rows have pos1 = 0: they see nothing); alibi = the row's
// ALiBi slope × log2(e) (f32, 0 on padding rows), or null for no bias.
struct TileRows {
  const int32_t* pos1;
  const int32_t* low1;
  const float* alibi;
};

// Online-softmax update of one key tile; key_pos, key_flag int32[count] (see KeyTile):
//   with rows.alibi:  s[j][r] += alibi[r] · (key_pos[j] − p_r)   (p_r = pos1[r] − 1; log2 units)
//   when `partial`:   s[j][r] is kept only where key_pos[j] < pos1[r] and (key_pos[j] > low1[r]
//                     or key_flag[j]); other scores become exact zeros
// then per row: m' = max(m, max_j s), alpha = 2^(m - m'), s = 2^(s - m'), l = alpha·l + Σ_j s,
// m = m'.  alpha f32[rows_pad] is written for AccumulateTile. With neither ALiBi nor `partial`
// it is the plain max/exp2 loop (key_pos, key_flag unread).
void SoftmaxTile(float* s, int64_t count, int64_t rows_pad, const int32_t* key_pos,
                 const int32_t* key_flag, bool partial, const TileRows& rows, float* m, float* l,
                 float* alpha);

// o[r * ldo + d] = alpha[r] · o[r * ldo + d] + Σ_j s[j * rows_pad + r] · v_rows[j][d]
// for r < rows, d < head_dim (columns head_dim .. ldo-1 of o are scratch). v_rows: count pointers
// to f32[head_dim].
void AccumulateTile(const float* s, int64_t rows_pad, const float* const* v_rows, int64_t count,
                    int64_t rows, int64_t head_dim, const float* alpha, float* o, int64_t ldo);

// Sets a partial state to "no keys seen": m = kEmptyRowMax, l = 0, o = 0 (rows × ldo).
void ResetState(int64_t rows, int64_t rows_pad, int64_t ldo, float* m, float* l, float* o);

// Log-sum-exp merge of partial state (m_src, l_src, o_src) into (m, l, o), both over disjoint key
// sets: m' = max(m, m_src), l = 2^(m - m')·l + 2^(m_src - m')·l_src, likewise o. Merging an
// empty state (m_src = kEmptyRowMax, l_src = 0) leaves (m, l, o) bitwise unchanged.
void MergeState(const float* m_src, const float* l_src, const float* o_src, int64_t rows,
                int64_t rows_pad, int64_t ldo, float* m, float* l, float* o);

// out[d] = o[d] / l for d < head_dim (0 when l == 0).
void NormalizeRow(const float* o, float l, int64_t head_dim, float* out);

}  // namespace attnserve::cpu

// PagedAttention / CausalAttention for the CPU backend (see attention.h): FlashAttention-style
// tiles with online softmax over the paged KV cache, never materialising [num_q, num_kv].
//
//   work item = (query tile, group of <= kHeadsPerItem KV heads); per KV head its rows are the
//   query heads sharing it × the tile's queries (so K/V rows are loaded once for all of them)
//     pack Qt per KV head (queries transposed, × scale·log2 e)
//     for each absolute key tile with candidate keys (attention_key_plan.h: candidate keys only,
//     so invisible blocks are never read; fully visible tiles skip the per-element mask):
//       prefetch the next tile's K/V rows, spread over this tile's score steps
//       per KV head: Sᵀ = K·Qt -> (+ ALiBi) -> mask -> online softmax (m, l, α) -> O = α·O + P·V
//       at each segment boundary: merge the segment's (m, l, O) into the item's total
//     out = O / l
//
//   key position  0        64       128      192      256      320
//                 | tile 0 | tile 1 | tile 2 | tile 3 | tile 4 | ...   kTileKeys = 64
//                 |<------------ segment 0 ------------>|<- segment 1   kSegmentKeys = 256
//
// Split-KV: when the items leave threads idle (decode: one query), runs of an item's segments
// (balanced by candidate key count) go to different threads, each segment into its own state,
// merged afterwards in segment order. Segments are the same in both modes, so results are
// bitwise identical whatever the thread count, split or not, and whichever queries share a tile
// (a chunk of queries gives the same bits as the tail of a full prefill).
// kBlockList (per-head key sets) goes to block_list_attention.cc.
// Memory: O(tile) scratch per thread; the split buffer (<= kMaxSplitFloats) one state per
// (item, segment).
#include "kernels/cpu/attention.h"

#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/cpu/attention_key_plan.h"
#include "kernels/cpu/block_list_attention.h"
#include "kernels/cpu/flash_attention_tiles.h"

namespace attnserve::cpu {
namespace {

constexpr int64_t kTileKeys = 64;      // keys per absolute key tile (<= kMaxTileKeys)
constexpr int64_t kSegmentKeys = 256;  // keys per split-KV segment (a multiple of kTileKeys)
constexpr int64_t kTargetRows = 96;    // rows (query heads × queries) per KV head and tile at
                                       // head_dim <= 64 (fewer for wider heads: Qt and O in L2)
constexpr int64_t kHeadsPerItem = 4;   // KV heads walked together (their K/V rows are adjacent)
constexpr int64_t kScoreStep = 24;     // keys per ScoreTile call (prefetches go in between)
constexpr int64_t kMaxSplitFloats = int64_t{4} << 20;  // split-KV buffer cap (16 MiB)
constexpr float kLog2e = 1.44269504088896341f;
static_assert(kTileKeys <= kMaxTileKeys && kSegmentKeys % kTileKeys == 0);

int64_t RoundUp8(int64_t n) { return (n + 7) / 8 * 8; }

// 64-byte aligned f32 scratch that only grows (contents kept while the size does not grow).
class Floats {
 public:
  float* Get(int64_t n) {
    if (n > capacity_) {
      capacity_ = (n + 15) / 16 * 16;
      buffer_.reset(static_cast<float*>(std::aligned_alloc(64, size_t(capacity_) * sizeof(float))));
    }
    return buffer_.get();
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> buffer_;
  int64_t capacity_ = 0;
};

// What every item of one call reads.
struct Call {
  const float* q;  // f32[num_q, num_heads, head_dim]
  const PagedKvView* kv;
  const AttentionShape* shape;
  const AttentionMask* mask;
  float* out;           // f32[num_q, num_heads, head_dim]
  int64_t group;        // query heads per KV head
  int64_t first_pos;    // position of query 0
  int64_t dim_pad;      // head_dim rounded up to 8: row stride of the O accumulators
  int64_t heads;        // KV heads per item
  int64_t head_groups;  // items per query tile
  std::vector<std::pair<int64_t, int64_t>> tiles;  // {first position, count}
};

// A partial softmax state of `rows` rows: m, l f32[rows_pad]; o f32[rows, dim_pad].
struct State {
  float* m;
  float* l;
  float* o;
};

// Floats of one state, and the state of KV head h in an array of them starting at base.
int64_t StateFloats(int64_t rows, int64_t dim_pad) {
  const int64_t rows_pad = RoundUp8(rows);
  return 2 * rows_pad + rows * dim_pad;
}
State StateAt(float* base, int64_t h, int64_t rows, int64_t dim_pad) {
  const int64_t rows_pad = RoundUp8(rows);
  float* s = base + h * StateFloats(rows, dim_pad);
  return {s, s + rows_pad, s + 2 * rows_pad};
}

// One thread's working set for one item.
struct TileWork {
  int64_t tile = 0, kv_head0 = 0, heads = 0, rows = 0, rows_pad = 0;
  QueryTileMask query_mask;
  KeyTile keys[2];
  std::vector<int32_t> pos1, low1;  // int32[rows_pad], see TileRows
  std::vector<const float*> q_rows;
  const float* k_rows[kMaxTileKeys];
  const float* v_rows[kMaxTileKeys];
  Floats qt;              // f32[heads, head_dim, rows_pad]
  Floats alibi;           // f32[heads, rows_pad]: slope·log2 e of each row (ALiBi calls only)
  Floats scores, alpha;   // f32[kMaxTileKeys, rows_pad], f32[rows_pad]
  Floats segment, total;  // `heads` states each
};

// Heap-allocated per thread: a large thread_local object would live in every thread's static TLS,
// which glibc carves out of each thread's stack — including small-stack threads of libraries
// such as civetweb (the /metrics server), which then overflow.
TileWork& ThreadTileWork() {
  thread_local std::unique_ptr<TileWork> work;
  if (!work) work = std::make_unique<TileWork>();
  return *work;
}
thread_local Floats t_split_buffer;  // the calling thread's split-KV states

// Item (tile, head group): KV heads kv_head0 .. kv_head0 + heads - 1. For each, row r = g·count + i
// is query head (kv_head · group + g) at query i of the tile.
void PrepareItem(const Call& c, int64_t tile, int64_t head_group, TileWork& w) {
  const auto [first, count] = c.tiles[tile];
  const int64_t head_dim = c.shape->head_dim, num_heads = c.shape->num_heads;
  BuildQueryTileMask(*c.mask, first, count, &w.query_mask);
  w.tile = tile;
  w.kv_head0 = head_group * c.heads;
  w.heads = std::min(c.heads, c.shape->num_kv_heads - w.kv_head0);
  w.rows = c.group * count;
  w.rows_pad = RoundUp8(w.rows);
  w.pos1.assign(w.rows_pad, 0);  // padding rows see nothing
  w.low1.assign(w.rows_pad, INT32_MAX);
  for (int64_t i = 0; i < count; ++i) {
    for (int64_t g = 0; g < c.group; ++g) {
      w.pos1[g * count + i] = static_cast<int32_t>(first + i + 1);
      w.low1[g * count + i] = w.query_mask.low[i] - 1;
    }
  }
  w.q_rows.resize(w.rows);
  float* qt = w.qt.Get(w.heads * head_dim * w.rows_pad);
  for (int64_t h = 0; h < w.heads; ++h) {
    for (int64_t g = 0; g < c.group; ++g) {
      for (int64_t i = 0; i < count; ++i) {
        const int64_t head = (w.kv_head0 + h) * c.group + g;
        w.q_rows[g * count + i] = c.q + ((first - c.first_pos + i) * num_heads + head) * head_dim;
      }
    }
    PackQueries(w.q_rows.data(), w.rows, w.rows_pad, head_dim, c.shape->scale * kLog2e,
                qt + h * head_dim * w.rows_pad);
  }
  if (c.shape->alibi_slopes != nullptr) {  // scores are in log2 units: so is the bias
    float* alibi = w.alibi.Get(w.heads * w.rows_pad);
    std::fill(alibi, alibi + w.heads * w.rows_pad, 0.0f);
    for (int64_t h = 0; h < w.heads; ++h)
      for (int64_t g = 0; g < c.group; ++g)
        std::fill_n(alibi + h * w.rows_pad + g * count, count,
                    c.shape->alibi_slopes[(w.kv_head0 + h) * c.group + g] * kLog2e);
  }
}

// Software prefetch of a key tile's K/V rows (the item's columns) into L2, a few lines per call
// of Step() so that the requests spread over the computation of the current tile.
class TilePrefetch {
 public:
  TilePrefetch(const Call& c, const TileWork& w, const KeyTile* tile, int64_t steps)
      : kv_(*c.kv), tile_(tile) {
    if (tile_ == nullptr) return;
    col_bytes_ = w.kv_head0 * c.shape->head_dim * int64_t{sizeof(float)};
    lines_per_row_ = (w.heads * c.shape->head_dim * int64_t{sizeof(float)} + 63) / 64 + 1;
    per_step_ = (tile_->count * lines_per_row_ + steps - 1) / steps;
  }

  void Step() {
    if (tile_ == nullptr) return;
    for (int64_t n = 0; n < per_step_ && key_ < tile_->count; ++n) {
      const int64_t offset = tile_->offset[key_] * int64_t{sizeof(float)} + col_bytes_ + line_ * 64;
      _mm_prefetch(reinterpret_cast<const char*>(kv_.k_pool) + offset, _MM_HINT_T1);
      _mm_prefetch(reinterpret_cast<const char*>(kv_.v_pool) + offset, _MM_HINT_T1);
      if (++line_ == lines_per_row_) {
        line_ = 0;
        ++key_;
      }
    }
  }

 private:
  const PagedKvView& kv_;
  const KeyTile* tile_;
  int64_t col_bytes_ = 0, lines_per_row_ = 0, per_step_ = 0, key_ = 0, line_ = 0;
};

// One key tile into the partial states `st` (one per KV head of the item), prefetching `next`.
void ProcessTile(const Call& c, TileWork& w, const KeyTile& t, const KeyTile* next, float* st) {
  const int64_t head_dim = c.shape->head_dim;
  float* scores = w.scores.Get(kMaxTileKeys * w.rows_pad);
  float* alpha = w.alpha.Get(w.rows_pad);
  const float* qt = w.qt.Get(w.heads * head_dim * w.rows_pad);
  TilePrefetch prefetch(c, w, next, w.heads * ((t.count + kScoreStep - 1) / kScoreStep));
  for (int64_t h = 0; h < w.heads; ++h) {
    const int64_t col = (w.kv_head0 + h) * head_dim;
    for (int64_t j = 0; j < t.count; ++j) {
      w.k_rows[j] = c.kv->k_pool + t.offset[j] + col;
      w.v_rows[j] = c.kv->v_pool + t.offset[j] + col;
    }
    const float* qt_h = qt + h * head_dim * w.rows_pad;
    for (int64_t j = 0; j < t.count; j += kScoreStep) {
      prefetch.Step();
      ScoreTile(qt_h, w.rows_pad, w.k_rows + j, std::min(kScoreStep, t.count - j), head_dim,
                scores + j * w.rows_pad);
    }
    const State s = StateAt(st, h, w.rows, c.dim_pad);
    const float* alibi = c.shape->alibi_slopes ? w.alibi.Get(w.heads * w.rows_pad) + h * w.rows_pad
                                                : nullptr;
    SoftmaxTile(scores, t.count, w.rows_pad, t.pos, t.flag, !t.full,
                {w.pos1.data(), w.low1.data(), alibi}, s.m, s.l, alpha);
    AccumulateTile(scores, w.rows_pad, w.v_rows, t.count, w.rows, head_dim, alpha, s.o, c.dim_pad);
  }
}

// Resets `heads` states at st.
void ResetStates(const Call& c, const TileWork& w, float* st) {
  for (int64_t h = 0; h < w.heads; ++h) {
    const State s = StateAt(st, h, w.rows, c.dim_pad);
    ResetState(w.rows, w.rows_pad, c.dim_pad, s.m, s.l, s.o);
  }
}

// Merges the states at src into those at dst (one per KV head).
void MergeStates(const Call& c, int64_t heads, int64_t rows, const float* src, float* dst) {
  for (int64_t h = 0; h < heads; ++h) {
    const State s = StateAt(const_cast<float*>(src), h, rows, c.dim_pad);
    const State d = StateAt(dst, h, rows, c.dim_pad);
    MergeState(s.m, s.l, s.o, rows, RoundUp8(rows), c.dim_pad, d.m, d.l, d.o);
  }
}

// The segments holding candidate keys of a tile, ascending, with their number of keys.
struct SegmentKeys {
  int64_t seg, keys;
};
void CandidateSegments(const QueryTileMask& qm, std::vector<SegmentKeys>* out) {
  out->clear();
  for (const KeySpan& span : qm.spans) {
    for (int64_t k = span.begin; k < span.end;) {
      const int64_t seg = k / kSegmentKeys, end = std::min(span.end, (seg + 1) * kSegmentKeys);
      if (out->empty() || out->back().seg != seg) out->push_back({seg, 0});
      out->back().keys += end - k;
      k = end;
    }
  }
}

// out rows of the item = o / l (states at st, one per KV head).
void WriteRows(const Call& c, int64_t tile, int64_t kv_head0, int64_t heads, float* st) {
  const auto [first, count] = c.tiles[tile];
  const int64_t head_dim = c.shape->head_dim, num_heads = c.shape->num_heads;
  const int64_t rows = c.group * count;
  for (int64_t h = 0; h < heads; ++h) {
    const State s = StateAt(st, h, rows, c.dim_pad);
    for (int64_t g = 0; g < c.group; ++g) {
      for (int64_t i = 0; i < count; ++i) {
        const int64_t head = (kv_head0 + h) * c.group + g, r = g * count + i;
        float* out = c.out + ((first - c.first_pos + i) * num_heads + head) * head_dim;
        NormalizeRow(s.o + r * c.dim_pad, s.l[r], head_dim, out);
      }
    }
  }
}

// Calls fn(tile, next) for the prepared item's candidate key tiles in [lo, hi).
template <class Fn>
void ForEachTile(const Call& c, TileWork& w, int64_t lo, int64_t hi, Fn&& fn) {
  ForEachKeyTile(w.query_mask, *c.mask, *c.kv, c.shape->kv_stride, kTileKeys, lo, hi, w.keys, fn);
}

// Whole item on this thread: each segment's tiles into `segment`, merged into `total` in order.
void RunItem(const Call& c, int64_t tile, int64_t head_group) {
  TileWork& w = ThreadTileWork();
  PrepareItem(c, tile, head_group, w);
  const int64_t floats = w.heads * StateFloats(w.rows, c.dim_pad);
  float* total = w.total.Get(floats);
  float* segment = w.segment.Get(floats);
  ResetStates(c, w, total);
  int64_t current = -1;  // segment held in `segment`
  ForEachTile(c, w, 0, c.shape->num_kv, [&](const KeyTile& t, const KeyTile* next) {
    if (t.pos[0] / kSegmentKeys != current) {
      if (current >= 0) MergeStates(c, w.heads, w.rows, segment, total);
      ResetStates(c, w, segment);
      current = t.pos[0] / kSegmentKeys;
    }
    ProcessTile(c, w, t, next, segment);
  });
  if (current >= 0) MergeStates(c, w.heads, w.rows, segment, total);
  WriteRows(c, tile, w.kv_head0, w.heads, total);
}

// Split-KV: runs of an item's candidate segments (about 2 runs per thread, balanced by key count)
// into per-segment states, then a merge per item in segment order.
void RunSplit(const Call& c, int threads) {
  const int64_t items = int64_t(c.tiles.size()) * c.head_groups;
  std::vector<std::vector<SegmentKeys>> segs(items);
  std::vector<int64_t> offset(items + 1, 0), seg_floats(items);  // floats of one segment's states
  QueryTileMask qm;
  int64_t total_keys = 0;
  for (int64_t it = 0; it < items; ++it) {
    const int64_t t = it / c.head_groups, g = it % c.head_groups;
    BuildQueryTileMask(*c.mask, c.tiles[t].first, c.tiles[t].second, &qm);
    CandidateSegments(qm, &segs[it]);
    for (const SegmentKeys& sk : segs[it]) total_keys += sk.keys;
    const int64_t heads = std::min(c.heads, c.shape->num_kv_heads - g * c.heads);
    seg_floats[it] = heads * StateFloats(c.group * c.tiles[t].second, c.dim_pad);
    offset[it + 1] = offset[it] + int64_t(segs[it].size()) * seg_floats[it];
  }
  struct Part {
    int64_t item, first, last;  // segs[item][first .. last)
  };
  std::vector<Part> parts;
  const int64_t target = std::max(kSegmentKeys, total_keys / (2 * threads));
  for (int64_t it = 0; it < items; ++it) {
    for (int64_t i = 0, begin = 0, keys = 0; i < int64_t(segs[it].size()); ++i) {
      keys += segs[it][i].keys;
      if (keys >= target || i + 1 == int64_t(segs[it].size())) {
        parts.push_back({it, begin, i + 1});
        begin = i + 1;
        keys = 0;
      }
    }
  }
  float* buffer = t_split_buffer.Get(std::max<int64_t>(offset[items], 1));
  auto states = [&](int64_t it, int64_t i) { return buffer + offset[it] + i * seg_floats[it]; };
#pragma omp parallel num_threads(threads)
  {
    TileWork& w = ThreadTileWork();
#pragma omp for schedule(dynamic, 1)
    for (int64_t pi = 0; pi < int64_t(parts.size()); ++pi) {
      const Part& p = parts[pi];
      const std::vector<SegmentKeys>& item_segs = segs[p.item];
      PrepareItem(c, p.item / c.head_groups, p.item % c.head_groups, w);
      for (int64_t i = p.first; i < p.last; ++i) ResetStates(c, w, states(p.item, i));
      int64_t i = p.first;  // the state of the tile's segment
      ForEachTile(c, w, item_segs[p.first].seg * kSegmentKeys,
                  (item_segs[p.last - 1].seg + 1) * kSegmentKeys,
                  [&](const KeyTile& t, const KeyTile* next) {
                    while (item_segs[i].seg < t.pos[0] / kSegmentKeys) ++i;
                    ProcessTile(c, w, t, next, states(p.item, i));
                  });
    }
#pragma omp for schedule(dynamic, 1)
    for (int64_t it = 0; it < items; ++it) {
      const int64_t t = it / c.head_groups, g = it % c.head_groups;
      const int64_t heads = std::min(c.heads, c.shape->num_kv_heads - g * c.heads);
      const int64_t rows = c.group * c.tiles[t].second;
      float* total = w.total.Get(seg_floats[it]);
      for (int64_t h = 0; h < heads; ++h) {
        const State s = StateAt(total, h, rows, c.dim_pad);
        ResetState(rows, RoundUp8(rows), c.dim_pad, s.m, s.l, s.o);
      }
      for (int64_t i = 0; i < int64_t(segs[it].size()); ++i)
        MergeStates(c, heads, rows, states(it, i), total);
      WriteRows(c, t, g * c.heads, heads, total);
    }
  }
}

}  // namespace

void PagedAttention(int num_threads, const float* q, const PagedKvView& kv,
                    const AttentionShape& shape, const AttentionMask& mask, float* out) {
  if (shape.num_q <= 0 || shape.num_kv <= 0) return;
  // Tiny problems (one decode step of a short sequence) run on the calling thread.
  const int64_t work = shape.num_q * shape.num_heads * shape.num_kv * shape.head_dim;
  const int threads = work < (int64_t{1} << 15) ? 1 : std::max(1, num_threads);
  if (mask.kind == MaskKind::kBlockList) {
    BlockListAttention(threads, q, kv, shape, mask, out);
    return;
  }
  Call c{q, &kv, &shape, &mask, out};
  c.group = shape.num_heads / shape.num_kv_heads;
  c.first_pos = shape.num_kv - shape.num_q;
  c.dim_pad = RoundUp8(shape.head_dim);
  c.heads = std::min(kHeadsPerItem, shape.num_kv_heads);
  c.head_groups = (shape.num_kv_heads + c.heads - 1) / c.heads;
  const int64_t target_rows = kTargetRows * 64 / std::max<int64_t>(64, shape.head_dim);
  const int64_t tile_queries = std::max<int64_t>(1, target_rows / c.group);
  SplitQueryTiles(mask, c.first_pos, shape.num_q, tile_queries, &c.tiles);
  const int64_t num_tiles = int64_t(c.tiles.size()), items = num_tiles * c.head_groups;
  // Split when the items leave threads idle and the per-segment states stay small (decode and
  // short chunks; the buffer is items × segments × heads × rows × head_dim floats).
  const int64_t split_floats = items * (shape.num_kv / kSegmentKeys + 1) * c.heads *
                               StateFloats(c.group * c.tiles.front().second, c.dim_pad);
  if (threads > 1 && items < 2 * threads && shape.num_kv > kSegmentKeys &&
      split_floats <= kMaxSplitFloats) {
    RunSplit(c, threads);
    return;
  }
  // Longest tiles (latest queries) first: causal work grows with the position.
  const int team = int(std::min<int64_t>(threads, items));
#pragma omp parallel for schedule(dynamic, 1) num_threads(team) if (team > 1)
  for (int64_t i = 0; i < items; ++i) {
    RunItem(c, num_tiles - 1 - i / c.head_groups, i % c.head_groups);
  }
}

void CausalAttention(int num_threads, const float* q, const float* k, const float* v, float* out,
                     int64_t num_q, int64_t num_kv, int64_t num_heads, int64_t num_kv_heads,
                     int64_t head_dim, int64_t kv_stride, float scale) {
  const int32_t block0 = 0;
  const PagedKvView contiguous{k, v, &block0, std::max<int64_t>(num_kv, 1)};
  PagedAttention(num_threads, q, contiguous,
                 {num_q, num_kv, num_heads, num_kv_heads, head_dim, kv_stride, scale},
                 AttentionMask{}, out);
}

}  // namespace attnserve::cpu

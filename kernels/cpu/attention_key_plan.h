// Mask traits of the tiled CPU attention (attention.cc): for a tile of consecutive query
// positions, which keys can be visible at all (ascending spans, so invisible keys and their blocks
// are never touched), and one inlined visibility test that equals Visible() for every MaskKind
// except kBlockList (per-head block lists, see block_list_attention.h):
//
//   visible(query at p, key k) = k <= p  and  (k >= low(p)  or  flag(k))
//
//   kind            low(p)                                     flag(k)
//   kCausal         0                                          -
//   kSlidingWindow  p - window + 1                             -
//   kSinks          p - window + 1                             k < sink_tokens
//   kSegments       (p / L - M) * L                            -
//   kLongformer     0 if p is global, else p - window + 1      k is global
//   kBigBird        0 if qb < global_blocks, else              kb < global_blocks or kb is one of
//                   (qb - window_blocks + 1) * block           BigBirdRandomBlocks(qb)
//
// BigBird's flags depend on the query block qb, so its query tiles never straddle two blocks.
// Keys are walked in absolute key tiles (positions [a·T, (a+1)·T)) so that a query's arithmetic
// does not depend on which other queries share its tile (chunked prefill = full prefill, bitwise).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/attention_mask.h"
#include "kernels/backend.h"

namespace attnserve::cpu {

// flag(k) of the keys of a span: never, always, or "k is in mask.global_positions".
enum class SpanFlag : uint8_t { kNone, kAll, kGlobal };

struct KeySpan {
  int64_t begin, end;  // key positions [begin, end)
  SpanFlag flag;
};

// The keys a tile of queries at positions first_pos .. first_pos + count - 1 may see.
struct QueryTileMask {
  int64_t first_pos = 0, count = 0;
  std::vector<KeySpan> spans;  // ascending, disjoint, every key < first_pos + count
  std::vector<int32_t> low;    // int32[count]: low(p) of each query
  int64_t max_low = 0;         // max of low
};

// Cuts the queries at positions [first_pos, first_pos + num_q) into tiles of at most max_tile
// consecutive positions (BigBird: never across a multiple of mask.block). tiles = {first, count}.
void SplitQueryTiles(const AttentionMask& mask, int64_t first_pos, int64_t num_q, int64_t max_tile,
                     std::vector<std::pair<int64_t, int64_t>>* tiles);

// Fills `out` for the queries at first_pos .. first_pos + count - 1 (kind != kBlockList).
void BuildQueryTileMask(const AttentionMask& mask, int64_t first_pos, int64_t count,
                        QueryTileMask* out);

// One absolute key tile's candidate keys, ascending, with their pool rows.
constexpr int64_t kMaxTileKeys = 64;
struct KeyTile {
  int64_t count = 0;
  bool full = false;             // every query of the tile sees every key: no per-element test
  int32_t pos[kMaxTileKeys];     // key positions
  int32_t flag[kMaxTileKeys];    // -1 when flag(k), else 0 (a lane mask)
  int64_t offset[kMaxTileKeys];  // float offset of the key's row in k_pool / v_pool
};

// Calls fn(const KeyTile& tile, const KeyTile* next) for every absolute tile of `tile_keys` keys
// that holds candidate keys of `qm` inside [lo, hi), in ascending order; `next` is the following
// tile (nullptr for the last), gathered one ahead so that fn can prefetch its rows. Reads the block
// table only for candidate keys. `tiles` is scratch for two tiles.
template <class Fn>
void ForEachKeyTile(const QueryTileMask& qm, const AttentionMask& mask, const PagedKvView& kv,
                    int64_t kv_stride, int64_t tile_keys, int64_t lo, int64_t hi,
                    KeyTile (&tiles)[2], Fn&& fn) {
  const int64_t bs = kv.block_size;
  const int32_t* global = mask.global_positions;
  const int32_t* global_end = global + (mask.kind == MaskKind::kLongformer ? mask.num_global : 0);
  int64_t tile_end = -1;              // exclusive end of the tile being gathered
  int64_t min_unflagged = INT64_MAX;  // smallest key of that tile without flag(k)
  KeyTile* ready = nullptr;           // gathered, not yet processed
  KeyTile* tile = &tiles[0];
  tile->count = 0;
  auto flush = [&] {
    if (tile->count == 0) return;
    tile->full = tile->pos[tile->count - 1] <= qm.first_pos && min_unflagged >= qm.max_low;
    if (ready != nullptr)
      fn(static_cast<const KeyTile&>(*ready), static_cast<const KeyTile*>(tile));
    ready = tile;
    tile = ready == &tiles[0] ? &tiles[1] : &tiles[0];
    tile->count = 0;
    min_unflagged = INT64_MAX;
  };
  auto span = std::lower_bound(qm.spans.begin(), qm.spans.end(), lo,
                               [](const KeySpan& s, int64_t k) { return s.end <= k; });
  for (; span != qm.spans.end() && span->begin < hi; ++span) {
    const int64_t begin = std::max(span->begin, lo), end = std::min(span->end, hi);
    if (begin >= end) continue;
    if (span->flag == SpanFlag::kGlobal)
      global = std::lower_bound(global, global_end, static_cast<int32_t>(begin));
    int64_t block = begin / bs, in_block = begin % bs;
    int64_t base = int64_t{kv.block_table[block]} * bs;
    for (int64_t k = begin; k < end; ++k, ++in_block) {
      if (in_block == bs) {
        base = int64_t{kv.block_table[++block]} * bs;
        in_block = 0;
      }
      if (k >= tile_end) {
        flush();
        tile_end = (k / tile_keys + 1) * tile_keys;
      }
      bool flagged = span->flag == SpanFlag::kAll;
      if (span->flag == SpanFlag::kGlobal) {
        while (global != global_end && *global < k) ++global;
        flagged = global != global_end && *global == k;
      }
      if (!flagged) min_unflagged = std::min(min_unflagged, k);
      tile->pos[tile->count] = static_cast<int32_t>(k);
      tile->flag[tile->count] = flagged ? -1 : 0;
      tile->offset[tile->count] = (base + in_block) * kv_stride;
      ++tile->count;
    }
  }
  flush();
  if (ready != nullptr)
    fn(static_cast<const KeyTile&>(*ready), static_cast<const KeyTile*>(nullptr));
}

}  // namespace attnserve::cpu

// AttentionMask rules (see attention_mask.h): the single definition shared by all kernels.
#include "kernels/attention_mask.h"

#include <algorithm>

namespace attnserve {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

bool IsGlobal(const AttentionMask& m, int64_t pos) {
  return std::binary_search(m.global_positions, m.global_positions + m.num_global,
                            static_cast<int32_t>(pos));
}

}  // namespace

int64_t BigBirdRandomBlocks(const AttentionMask& m, int64_t qb, int64_t* out) {
  const int64_t lo = m.global_blocks, hi = qb - m.window_blocks;  // inclusive range
  const int64_t n = hi - lo + 1;
  if (n <= 0 || m.random_blocks <= 0) return 0;
  int64_t count = 0;
  if (n <= m.random_blocks) {
    for (int64_t b = lo; b <= hi; ++b) out[count++] = b;
    return count;
  }
  // Floyd's sampling of random_blocks distinct values from [0, n).
  const uint64_t base = SplitMix64(m.seed ^ SplitMix64(static_cast<uint64_t>(qb)));
  for (int64_t j = n - m.random_blocks; j < n; ++j) {
    const int64_t t = static_cast<int64_t>(SplitMix64(base + static_cast<uint64_t>(j)) %
                                           static_cast<uint64_t>(j + 1));
    const bool taken = std::find(out, out + count, lo + t) != out + count;
    out[count++] = lo + (taken ? j : t);
  }
  std::sort(out, out + count);
  return count;
}

bool Visible(const AttentionMask& m, int64_t row, int64_t head, int64_t num_heads, int64_t p,
             int64_t k) {
  if (k > p || k < 0) return false;
  switch (m.kind) {
    case MaskKind::kCausal:
      return true;
    case MaskKind::kSlidingWindow:
      return p - k < m.window;
    case MaskKind::kSinks:
      return k < m.sink_tokens || p - k < m.window;
    case MaskKind::kSegments:
      return k / m.segment_length >= p / m.segment_length - m.memory_segments;
    case MaskKind::kLongformer:
      return p - k < m.window || IsGlobal(m, k) || IsGlobal(m, p);
    case MaskKind::kBigBird: {
      const int64_t qb = p / m.block, kb = k / m.block;
      if (qb - kb < m.window_blocks || kb < m.global_blocks || qb < m.global_blocks) return true;
      int64_t picked[256];
      const int64_t r = m.random_blocks <= 256 ? BigBirdRandomBlocks(m, qb, picked) : 0;
      return std::binary_search(picked, picked + r, kb);
    }
    case MaskKind::kBlockList: {
      if (p - k < m.window) return true;
      const int32_t* sel = m.selected_blocks + (row * num_heads + head) * m.num_selected;
      const int64_t kb = k / m.select_block;
      return std::find(sel, sel + m.num_selected, static_cast<int32_t>(kb)) != sel + m.num_selected;
    }
  }
  return false;
}

int64_t LowestReachableKey(const AttentionMask& m, int64_t p) {
  switch (m.kind) {
    case MaskKind::kSlidingWindow:
    case MaskKind::kSinks:
      return std::max<int64_t>(0, p - m.window + 1);
    case MaskKind::kSegments:
      return std::max<int64_t>(0, (p / m.segment_length - m.memory_segments) * m.segment_length);
    default:
      return -1;
  }
}

}  // namespace attnserve

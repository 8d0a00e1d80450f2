// Candidate key spans and low(p) per mask kind for a tile of queries (see attention_key_plan.h).
#include "kernels/cpu/attention_key_plan.h"

#include <algorithm>

namespace attnserve::cpu {
namespace {

// Appends [begin, end) unless empty.
void AddSpan(std::vector<KeySpan>* spans, int64_t begin, int64_t end, SpanFlag flag) {
  if (begin < end) spans->push_back({begin, end, flag});
}

int64_t SegmentLow(const AttentionMask& m, int64_t p) {
  return std::max<int64_t>(0, (p / m.segment_length - m.memory_segments) * m.segment_length);
}

bool IsGlobal(const AttentionMask& m, int64_t p) {
  return std::binary_search(m.global_positions, m.global_positions + m.num_global,
                            static_cast<int32_t>(p));
}

}  // namespace

void SplitQueryTiles(const AttentionMask& mask, int64_t first_pos, int64_t num_q, int64_t max_tile,
                     std::vector<std::pair<int64_t, int64_t>>* tiles) {
  tiles->clear();
  const int64_t end = first_pos + num_q;
  for (int64_t p = first_pos; p < end;) {
    int64_t stop = std::min(end, p + max_tile);
    if (mask.kind == MaskKind::kBigBird) stop = std::min(stop, (p / mask.block + 1) * mask.block);
    tiles->push_back({p, stop - p});
    p = stop;
  }
}

void BuildQueryTileMask(const AttentionMask& m, int64_t first_pos, int64_t count,
                        QueryTileMask* out) {
  out->first_pos = first_pos;
  out->count = count;
  out->spans.clear();
  out->low.resize(count);
  const int64_t last = first_pos + count - 1, key_end = last + 1;
  auto set_low = [&](auto low_of) {
    out->max_low = 0;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t low = std::max<int64_t>(0, low_of(first_pos + i));
      out->low[i] = static_cast<int32_t>(low);
      out->max_low = std::max(out->max_low, low);
    }
  };
  switch (m.kind) {
    case MaskKind::kCausal:
    case MaskKind::kBlockList:  // not served here; treated as causal if it ever reaches this
      set_low([](int64_t) { return 0; });
      AddSpan(&out->spans, 0, key_end, SpanFlag::kNone);
      break;
    case MaskKind::kSlidingWindow:
      set_low([&](int64_t p) { return p - m.window + 1; });
      AddSpan(&out->spans, out->low[0], key_end, SpanFlag::kNone);
      break;
    case MaskKind::kSinks: {
      set_low([&](int64_t p) { return p - m.window + 1; });
      const int64_t sink_end = std::min(m.sink_tokens, key_end);
      AddSpan(&out->spans, 0, sink_end, SpanFlag::kAll);
      AddSpan(&out->spans, std::max<int64_t>(sink_end, out->low[0]), key_end, SpanFlag::kNone);
      break;
    }
    case MaskKind::kSegments:
      set_low([&](int64_t p) { return SegmentLow(m, p); });
      AddSpan(&out->spans, out->low[0], key_end, SpanFlag::kNone);
      break;
    case MaskKind::kLongformer: {
      // Global queries see every earlier key; the others their window plus the global keys.
      bool any_global_query = false;
      set_low([&](int64_t p) {
        if (IsGlobal(m, p)) {
          any_global_query = true;
          return int64_t{0};
        }
        return p - m.window + 1;
      });
      const int64_t window_begin =
          any_global_query ? 0 : std::max<int64_t>(0, first_pos - m.window + 1);
      for (int64_t g = 0; g < m.num_global && m.global_positions[g] < window_begin; ++g) {
        const int64_t k = m.global_positions[g];
        if (!out->spans.empty() && out->spans.back().end == k) {
          ++out->spans.back().end;  // consecutive global keys form one span
        } else {
          out->spans.push_back({k, k + 1, SpanFlag::kAll});
        }
      }
      AddSpan(&out->spans, window_begin, key_end, SpanFlag::kGlobal);
      break;
    }
    case MaskKind::kBigBird: {
      const int64_t qb = first_pos / m.block;  // the whole tile is in this block
      if (qb < m.global_blocks) {
        set_low([](int64_t) { return 0; });
        AddSpan(&out->spans, 0, key_end, SpanFlag::kNone);
        break;
      }
      const int64_t window_begin = std::max<int64_t>(0, (qb - m.window_blocks + 1) * m.block);
      set_low([&](int64_t) { return window_begin; });
      const int64_t global_end = std::min(m.global_blocks * m.block, window_begin);
      AddSpan(&out->spans, 0, global_end, SpanFlag::kAll);
      // Same cap as Visible(): more than 256 random blocks count as none.
      int64_t picked[256];
      const int64_t r = m.random_blocks <= 256 ? BigBirdRandomBlocks(m, qb, picked) : 0;
      for (int64_t j = 0; j < r; ++j)  // ascending, inside [global_blocks, qb - window_blocks]
        AddSpan(&out->spans, picked[j] * m.block, (picked[j] + 1) * m.block, SpanFlag::kAll);
      AddSpan(&out->spans, window_begin, key_end, SpanFlag::kNone);
      break;
    }
  }
}

}  // namespace attnserve::cpu

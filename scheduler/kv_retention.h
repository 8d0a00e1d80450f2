// KvRetention: what a sequence's attention needs from KV memory (docs/architecture.md, memory
// kinds), derived from its per-layer attention plan (engine/attention) and handed to the Scheduler:
//   PagedKv        keep every block (full, sparse, dynamic attention)
//   WindowedKv     free blocks no future query can reach (window, sinks, Transformer-XL memory)
//   RecurrentState no KV at all for linear-attention layers; their state lives in the executor,
//                  and cannot be rebuilt from cached blocks, so prefix reuse is off
// Plain data.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace attnserve {

struct KvRetention {
  bool uses_kv = true;        // false: no layer reads K/V (all linear): the sequence holds no blocks
  bool reuse_prefix = true;   // false: a layer keeps a recurrent state (not rebuilt from blocks)
  bool bounded = false;       // true: every KV layer only reaches sinks + a recent range (below)
  int32_t sink_tokens = 0;    // keys [0, sink_tokens) stay reachable
  int32_t window = 0;         // > 0: keys >= p - window + 1 stay reachable
  int32_t segment_length = 0; // > 0: keys >= (p / L - memory_segments) * L stay reachable
  int32_t memory_segments = 0;
  // Everything besides the tokens that determines the cached K/V (the per-layer attention);
  // mixed into the prefix-cache hashes. "" for the model's own attention.
  std::string cache_salt;

  // The lowest key position that a query at position >= p can still see (bounded only).
  int32_t LowestReachable(int32_t p) const {
    int32_t lowest = p;
    if (window > 0) lowest = std::min(lowest, std::max(0, p - window + 1));
    if (segment_length > 0)
      lowest = std::min(lowest, std::max(0, (p / segment_length - memory_segments) * segment_length));
    return lowest;
  }
};

}  // namespace attnserve

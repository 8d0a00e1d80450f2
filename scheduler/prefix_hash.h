// Prefix-cache block hashes: hash(block i) = H(hash(block i-1), tokens of block i), seeded with a
// key for everything else that changes the cached keys/values (model, and later the attention
// choice and context policy), so equal hashes mean equal prefixes under equal settings.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace attnserve {

// 64-bit mix (splitmix64 finaliser).
inline uint64_t MixHash(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

// Seed for a sequence's first block from the cache key (FNV-1a over its bytes).
inline uint64_t PrefixHashSeed(std::string_view cache_key) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : cache_key) h = (h ^ c) * 0x100000001b3ULL;
  return MixHash(h);
}

// Hash of a full block given its parent's hash (or the seed for block 0).
inline uint64_t BlockHash(uint64_t parent, std::span<const int32_t> tokens) {
  uint64_t h = MixHash(parent ^ 0x9e3779b97f4a7c15ULL);
  for (int32_t t : tokens) h = MixHash(h ^ (static_cast<uint64_t>(static_cast<uint32_t>(t)) + 0x9e3779b97f4a7c15ULL));
  return h;
}

}  // namespace attnserve

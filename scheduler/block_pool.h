// BlockPool: the blocks of the paged KV cache as plain bookkeeping (no tensors): reference
// counts, a free list, and the prefix cache — content hashes of full blocks, so a block can be
// shared by every sequence whose tokens up to it are the same. A block whose count drops to zero
// keeps its content while it waits in an LRU list; Allocate() takes never-hashed free blocks
// first and then evicts the least recently released cached block.
//
//   block states:  free (no hash) ──Allocate──▶ used (ref ≥ 1) ──Release to 0──▶ free
//                                                   │ SetHash                      ▲ evict (LRU)
//                                                   ▼                              │
//                                     used + hashed ──Release to 0──▶ cached-free ─┘
//                                                   ▲───────── Ref (prefix hit) ───┘
// Not thread-safe (engine thread).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>
#include <vector>

namespace attnserve {

class BlockPool {
 public:
  explicit BlockPool(int32_t num_blocks);

  int32_t num_blocks() const { return static_cast<int32_t>(ref_count_.size()); }
  // Blocks that Allocate() can hand out: never-hashed free blocks + cached-free blocks.
  int32_t num_free() const { return static_cast<int32_t>(free_.size() + cached_free_.size()); }
  int32_t num_used() const { return num_blocks() - num_free(); }
  int32_t num_cached_free() const { return static_cast<int32_t>(cached_free_.size()); }

  // A block with ref count 1 and no hash, or -1 when none is free (evicts a cached block if
  // no plain free block is left).
  int32_t Allocate();
  // Adds a reference to a used or cached-free block (a prefix-cache hit).
  void Ref(int32_t block);
  // Drops a reference; at zero a hashed block becomes cached-free (most recently released last).
  void Release(int32_t block);

  // The block holding content `hash`, if any (used or cached-free). Does not add a reference.
  std::optional<int32_t> Lookup(uint64_t hash) const;
  // Records that `block` (used) holds full content `hash`; ignored if another block already has it.
  void SetHash(int32_t block, uint64_t hash);
  int32_t ref_count(int32_t block) const { return ref_count_[block]; }

 private:
  void DropHash(int32_t block);

  std::vector<int32_t> ref_count_;
  std::vector<int32_t> free_;                           // never-hashed (or evicted) free blocks
  std::list<int32_t> cached_free_;                      // LRU: front = evicted first
  std::vector<std::list<int32_t>::iterator> lru_pos_;   // valid while in cached_free_
  std::vector<bool> in_lru_;
  std::vector<std::optional<uint64_t>> hash_of_;
  std::unordered_map<uint64_t, int32_t> block_of_hash_;
};

}  // namespace attnserve

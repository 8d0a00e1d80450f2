// BlockPool implementation.
#include "scheduler/block_pool.h"

#include <cassert>

namespace attnserve {

BlockPool::BlockPool(int32_t num_blocks)
    : ref_count_(num_blocks, 0), lru_pos_(num_blocks), in_lru_(num_blocks, false),
      hash_of_(num_blocks) {
  free_.reserve(num_blocks);
  for (int32_t b = num_blocks - 1; b >= 0; --b) free_.push_back(b);  // hand out 0, 1, 2, ...
}

int32_t BlockPool::Allocate() {
  int32_t block = -1;
  if (!free_.empty()) {
    block = free_.back();
    free_.pop_back();
  } else if (!cached_free_.empty()) {
    block = cached_free_.front();
    cached_free_.pop_front();
    in_lru_[block] = false;
    DropHash(block);
  } else {
    return -1;
  }
  ref_count_[block] = 1;
  return block;
}

void BlockPool::Ref(int32_t block) {
  if (ref_count_[block] == 0) {
    assert(in_lru_[block]);
    cached_free_.erase(lru_pos_[block]);
    in_lru_[block] = false;
  }
  ++ref_count_[block];
}

void BlockPool::Release(int32_t block) {
  assert(ref_count_[block] > 0);
  if (--ref_count_[block] > 0) return;
  if (hash_of_[block]) {
    lru_pos_[block] = cached_free_.insert(cached_free_.end(), block);
    in_lru_[block] = true;
  } else {
    free_.push_back(block);
  }
}

std::optional<int32_t> BlockPool::Lookup(uint64_t hash) const {
  auto it = block_of_hash_.find(hash);
  if (it == block_of_hash_.end()) return std::nullopt;
  return it->second;
}

void BlockPool::SetHash(int32_t block, uint64_t hash) {
  if (hash_of_[block] || block_of_hash_.count(hash)) return;
  hash_of_[block] = hash;
  block_of_hash_[hash] = block;
}

void BlockPool::DropHash(int32_t block) {
  if (!hash_of_[block]) return;
  block_of_hash_.erase(*hash_of_[block]);
  hash_of_[block].reset();
}

}  // namespace attnserve

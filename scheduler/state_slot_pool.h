// StateSlotPool: the RecurrentState memory kind's bookkeeping (docs/architecture.md). Models with
// state-space layers (Mamba, Mamba-2, Jamba) keep a fixed-size recurrent state per sequence —
// conv and SSM states of every such layer, independent of the sequence's length — in one of
// `num_slots` preallocated slots (the floats live in the executor). The scheduler takes a slot
// when it admits a sequence and frees it on finish, cancel and preemption (a preempted sequence
// is recomputed from position 0 into whatever slot it gets next). Plain data, not thread-safe.
#pragma once

#include <cassert>
#include <cstdint>
#include <vector>

namespace attnserve {

class StateSlotPool {
 public:
  explicit StateSlotPool(int32_t num_slots) {
    // Lowest slot first: slots are handed out from the back of the free list.
    for (int32_t s = num_slots - 1; s >= 0; --s) free_.push_back(s);
    in_use_.assign(num_slots, false);
  }

  int32_t num_slots() const { return static_cast<int32_t>(in_use_.size()); }
  int32_t num_free() const { return static_cast<int32_t>(free_.size()); }

  // A free slot; the pool must not be empty (check num_free()).
  int32_t Take() {
    assert(!free_.empty());
    const int32_t s = free_.back();
    free_.pop_back();
    in_use_[s] = true;
    return s;
  }
  // Returns a slot taken before; -1 is a no-op.
  void Free(int32_t slot) {
    if (slot < 0) return;
    assert(in_use_[slot]);
    in_use_[slot] = false;
    free_.push_back(slot);
  }

 private:
  std::vector<int32_t> free_;
  std::vector<bool> in_use_;
};

}  // namespace attnserve

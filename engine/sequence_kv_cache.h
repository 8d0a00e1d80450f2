// SequenceKvCache: the keys and values of one sequence, every layer, contiguous per layer and
// sized at admission for the sequence's whole length (prompt + max_tokens). Replaced by the
// paged KV cache (block tables) in the continuous-batching issue.
//
//   layer l keys:   k_[l] f32[capacity, kv_dim]   row t = key of position t (all kv heads)
//   layer l values: v_[l] f32[capacity, kv_dim]
#pragma once

#include <cstdint>
#include <vector>

namespace attnserve {

class SequenceKvCache {
 public:
  SequenceKvCache(int64_t num_layers, int64_t capacity_tokens, int64_t kv_dim)
      : capacity_(capacity_tokens), kv_dim_(kv_dim),
        k_(num_layers, std::vector<float>(capacity_tokens * kv_dim)),
        v_(num_layers, std::vector<float>(capacity_tokens * kv_dim)) {}

  int64_t capacity() const { return capacity_; }
  int64_t kv_dim() const { return kv_dim_; }
  float* k(int64_t layer) { return k_[layer].data(); }
  float* v(int64_t layer) { return v_[layer].data(); }
  int64_t bytes() const { return 2 * static_cast<int64_t>(k_.size()) * capacity_ * kv_dim_ * 4; }

 private:
  int64_t capacity_;
  int64_t kv_dim_;
  std::vector<std::vector<float>> k_;
  std::vector<std::vector<float>> v_;
};

}  // namespace attnserve

// Folder engine/memory/: the memory a model runs in — the paged KV pool and the weight loader.
// Includes engine/loader/ only.
//
// PagedKvPool: the KV-cache memory of every attention layer (state-space layers have none), cut
// into fixed-size blocks that sequences own through block tables (the bookkeeping lives in
// scheduler/BlockPool; this holds the floats).
//
//   attention layer l keys:   k(l) f32[num_blocks, block_size, kv_dim]
//   attention layer l values: v(l) f32[num_blocks, block_size, kv_dim]
//   position p of a sequence with block table T lives in row T[p / block_size]*block_size + p % block_size
//
// Memory is reserved but not touched up front (pages are faulted in as blocks are first used).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

namespace attnserve {

class PagedKvPool {
 public:
  PagedKvPool(int64_t num_layers, int64_t num_blocks, int64_t block_size, int64_t kv_dim)
      : num_blocks_(num_blocks), block_size_(block_size), kv_dim_(kv_dim) {
    const int64_t floats = num_blocks * block_size * kv_dim;
    for (int64_t l = 0; l < num_layers; ++l) {
      k_.emplace_back(new float[floats]);  // uninitialised on purpose: written before read
      v_.emplace_back(new float[floats]);
    }
  }

  int64_t num_blocks() const { return num_blocks_; }
  int64_t block_size() const { return block_size_; }
  int64_t kv_dim() const { return kv_dim_; }
  float* k(int64_t layer) { return k_[layer].get(); }
  float* v(int64_t layer) { return v_[layer].get(); }
  // Quest key summaries of a layer, f32[num_blocks, 2, kv_dim] (min row, max row per block),
  // reserved on first use (only layers served by Quest use them; 2/block_size of the K memory).
  float* key_summaries(int64_t layer) {
    if (summaries_.empty()) summaries_.resize(k_.size());
    if (!summaries_[layer]) summaries_[layer].reset(new float[num_blocks_ * 2 * kv_dim_]);
    return summaries_[layer].get();
  }
  // Float offset of position `pos` in a layer's pool, for block table `table`.
  int64_t RowOffset(const int32_t* table, int64_t pos) const {
    return (int64_t{table[pos / block_size_]} * block_size_ + pos % block_size_) * kv_dim_;
  }
  // Bytes one token takes over all layers (K and V).
  static int64_t BytesPerToken(int64_t num_layers, int64_t kv_dim) {
    return 2 * num_layers * kv_dim * static_cast<int64_t>(sizeof(float));
  }

 private:
  int64_t num_blocks_, block_size_, kv_dim_;
  std::vector<std::unique_ptr<float[]>> k_, v_;
  std::vector<std::unique_ptr<float[]>> summaries_;
};

}  // namespace attnserve

// The BPE model of tokenizer.json ("model": {"type": "BPE"}): vocab, merges (as "a b" strings or
// ["a","b"] arrays), ignore_merges, byte_fallback (<0xAB> tokens), unk_token / fuse_unk,
// continuing_subword_prefix and end_of_word_suffix. Merging follows tokenizers' Word::merge_all:
// repeatedly apply the lowest-rank (then leftmost) mergeable pair, via a priority queue.
// Results are cached per pre-token. Thread-safe (the cache is behind a shared mutex).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace attnserve::tok {

// Token ids a tokenizer.json may use: 0 .. kMaxTokenId (the id tables are dense up to the largest).
inline constexpr int32_t kMaxTokenId = (1 << 24) - 1;
// `v` as a token id: an integer in [0, kMaxTokenId], else INVALID_ARGUMENT naming `what`.
absl::StatusOr<int32_t> TokenIdFromJson(const nlohmann::json& v, const std::string& what);

class BpeModel {
 public:
  // Parses the "model" object. Errors: non-BPE type, merges naming unknown tokens, bad unk_token.
  static absl::StatusOr<std::unique_ptr<BpeModel>> FromJson(const nlohmann::json& model);

  // Appends the ids of one pre-token (non-empty, valid UTF-8) to `out`. Thread-safe.
  void Tokenize(std::string_view word, std::vector<int32_t>& out) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // nullptr when `id` is not in the vocabulary.
  const std::string* IdToToken(int32_t id) const;
  // Number of vocabulary entries (tokenizers' Model::get_vocab_size).
  int32_t vocab_len() const { return static_cast<int32_t>(vocab_.size()); }
  // Largest id in the vocabulary (-1 when empty).
  int32_t max_id() const { return static_cast<int32_t>(id_to_token_.size()) - 1; }

 private:
  struct MergeInfo {
    uint32_t rank;
    int32_t new_id;
  };
  static uint64_t PairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void MergeWord(std::string_view word, std::vector<int32_t>& out) const;

  absl::flat_hash_map<std::string, int32_t> vocab_;
  std::vector<std::string> id_to_token_;
  std::vector<bool> id_present_;
  absl::flat_hash_map<uint64_t, MergeInfo> merges_;
  std::optional<int32_t> unk_id_;
  std::string continuing_subword_prefix_;
  std::string end_of_word_suffix_;
  bool fuse_unk_ = false;
  bool byte_fallback_ = false;
  bool ignore_merges_ = false;
  int32_t byte_ids_[256];  // id of "<0xAB>" or -1

  static constexpr size_t kCacheCapacity = 10000;
  static constexpr size_t kMaxCachedWordBytes = 256;
  mutable std::shared_mutex cache_mu_;
  mutable absl::flat_hash_map<std::string, std::vector<int32_t>> cache_;
};

}  // namespace attnserve::tok

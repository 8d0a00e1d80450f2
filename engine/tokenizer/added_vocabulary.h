// Added tokens of tokenizer.json ("added_tokens"): special and non-special tokens matched before
// the model runs. Mirrors tokenizers' AddedVocabulary: the input is first split on non-normalized
// tokens (leftmost-longest match), then each remaining piece is normalized and split on the
// normalized tokens (whose patterns are the normalizer's output for their content); single_word,
// lstrip and rstrip are honored. Like the library, ids are (re)assigned on load: a content already
// in the model vocabulary keeps the model's id, others get model-vocabulary-size, +1, ... (the
// "id" fields of the file agree with this for real tokenizers). A normalized token decodes as its
// normalized form. Immutable; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "engine/tokenizer/piece.h"

namespace attnserve::tok {

class BpeModel;
class Normalizer;

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

class AddedVocabulary {
 public:
  // Registers `tokens` in file order (their `id` fields are ignored, see above). `normalizer`
  // (may be null) builds the normalized tokens' patterns; `model` resolves known contents.
  AddedVocabulary(const std::vector<AddedToken>& tokens, const Normalizer* normalizer, const BpeModel& model);

  // Splits valid UTF-8 `text` into added-token pieces and normalized text pieces (never empty).
  std::vector<Piece> ExtractAndNormalize(std::string_view text, const Normalizer* normalizer) const;

  std::optional<int32_t> TokenToId(std::string_view content) const;
  // The string an added id decodes as (its normalized form for normalized tokens); nullptr when
  // `id` is not an added token.
  const std::string* IdToToken(int32_t id) const;
  // True when `token` is the content of a special added token.
  bool IsSpecialContent(std::string_view token) const {
    return special_contents_.contains(absl::string_view(token.data(), token.size()));
  }
  // True when `id` is an added token marked special.
  bool IsSpecialId(int32_t id) const;
  int32_t max_id() const;

 private:
  // A byte trie over the token patterns with leftmost-longest search.
  class Trie {
   public:
    void Insert(std::string_view pattern, int32_t token_index);
    // Longest pattern starting at text[pos]: (token index, length), or token index -1.
    std::pair<int32_t, size_t> LongestAt(std::string_view text, size_t pos) const;
    bool empty() const { return nodes_.size() <= 1; }

   private:
    struct Node {
      std::vector<std::pair<unsigned char, int32_t>> children;
      int32_t token_index = -1;
    };
    std::vector<Node> nodes_{1};
    bool first_byte_[256] = {};
  };

  struct Match {
    int32_t token_index;  // -1 for text between tokens
    size_t start, end;
  };
  std::vector<Match> FindMatches(std::string_view text, const Trie& trie) const;

  std::vector<AddedToken> tokens_;  // one per id, with its final id
  Trie raw_trie_;         // tokens with normalized == false, matched on the input
  Trie normalized_trie_;  // tokens with normalized == true, matched on normalized pieces
  absl::flat_hash_map<std::string, int32_t> content_to_id_;
  absl::flat_hash_map<int32_t, size_t> id_to_index_;          // id -> tokens_ index
  absl::flat_hash_map<int32_t, std::string> id_to_decoded_;   // id -> decode string
  absl::flat_hash_set<std::string> special_contents_;
};

}  // namespace attnserve::tok

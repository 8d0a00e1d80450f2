// Added-token extraction (tokenizers' AddedVocabulary::extract_and_normalize).
#include "engine/tokenizer/added_vocabulary.h"

#include <algorithm>

#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/normalizers.h"
#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {
namespace {

// Start of the code point that ends at `end` (text[..end) is valid UTF-8 and non-empty).
size_t PrevCharStart(std::string_view text, size_t end) {
  size_t p = end - 1;
  while (p > 0 && (static_cast<unsigned char>(text[p]) & 0xC0) == 0x80) --p;
  return p;
}

bool EndsWithWordChar(std::string_view text, size_t end) {
  if (end == 0) return false;
  size_t p = PrevCharStart(text, end);
  return IsWordChar(NextCodePoint(text, p));
}

bool StartsWithWordChar(std::string_view text, size_t start) {
  if (start >= text.size()) return false;
  return IsWordChar(NextCodePoint(text, start));
}

}  // namespace

void AddedVocabulary::Trie::Insert(std::string_view pattern, int32_t token_index) {
  if (pattern.empty()) return;
  int32_t node = 0;
  for (unsigned char b : pattern) {
    auto& children = nodes_[node].children;
    auto it = std::find_if(children.begin(), children.end(), [b](const auto& c) { return c.first == b; });
    if (it != children.end()) {
      node = it->second;
    } else {
      int32_t child = static_cast<int32_t>(nodes_.size());
      nodes_[node].children.emplace_back(b, child);
      nodes_.emplace_back();
      node = child;
    }
  }
  if (nodes_[node].token_index < 0) nodes_[node].token_index = token_index;
  first_byte_[static_cast<unsigned char>(pattern[0])] = true;
}

std::pair<int32_t, size_t> AddedVocabulary::Trie::LongestAt(std::string_view text, size_t pos) const {
  std::pair<int32_t, size_t> best{-1, 0};
  if (pos >= text.size() || !first_byte_[static_cast<unsigned char>(text[pos])]) return best;
  int32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    unsigned char b = text[i];
    const auto& children = nodes_[node].children;
    auto it = std::find_if(children.begin(), children.end(), [b](const auto& c) { return c.first == b; });
    if (it == children.end()) break;
    node = it->second;
    if (nodes_[node].token_index >= 0) best = {nodes_[node].token_index, i + 1 - pos};
  }
  return best;
}

AddedVocabulary::AddedVocabulary(const std::vector<AddedToken>& tokens, const Normalizer* normalizer,
                                 const BpeModel& model) {
  int32_t next_id = model.vocab_len();
  absl::flat_hash_map<int32_t, std::string> normalized_forms;
  for (const AddedToken& token : tokens) {
    if (token.content.empty()) continue;
    int32_t id;
    if (auto it = content_to_id_.find(token.content); it != content_to_id_.end()) {
      id = it->second;
    } else if (auto model_id = model.TokenToId(token.content)) {
      id = *model_id;
    } else {
      id = next_id++;
    }
    if (token.normalized && normalizer != nullptr) {
      std::string normalized = token.content;
      normalizer->Normalize(normalized);
      if (normalized != token.content) normalized_forms[id] = std::move(normalized);
    }
    content_to_id_[token.content] = id;
    if (token.special) special_contents_.insert(token.content);
    AddedToken entry = token;
    entry.id = id;
    if (auto it = id_to_index_.find(id); it != id_to_index_.end()) {
      tokens_[it->second] = std::move(entry);
    } else {
      id_to_index_[id] = tokens_.size();
      tokens_.push_back(std::move(entry));
    }
  }
  for (int32_t i = 0; i < static_cast<int32_t>(tokens_.size()); ++i) {
    const AddedToken& t = tokens_[i];
    auto norm = normalized_forms.find(t.id);
    const bool has_norm = t.normalized && norm != normalized_forms.end();
    id_to_decoded_[t.id] = has_norm ? norm->second : t.content;
    if (t.normalized) {
      normalized_trie_.Insert(has_norm ? norm->second : t.content, i);
    } else {
      raw_trie_.Insert(t.content, i);
    }
  }
}

std::vector<AddedVocabulary::Match> AddedVocabulary::FindMatches(std::string_view text, const Trie& trie) const {
  std::vector<Match> out;
  size_t start_offset = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    auto [index, len] = trie.LongestAt(text, pos);
    if (index < 0) {
      ++pos;
      continue;
    }
    size_t start = pos, stop = pos + len;
    pos = stop;  // the automaton resumes after the raw match
    const AddedToken& t = tokens_[index];
    if (t.single_word) {
      bool start_space = start == 0 || !EndsWithWordChar(text, start);
      bool stop_space = stop == text.size() || !StartsWithWordChar(text, stop);
      if (!start_space || !stop_space) continue;
    }
    if (t.lstrip) {
      size_t new_start = start;
      while (new_start > 0) {
        size_t p = PrevCharStart(text, new_start), q = p;
        if (!IsWhitespace(NextCodePoint(text, q))) break;
        new_start = p;
      }
      start = std::max(new_start, start_offset);
    }
    if (t.rstrip) {
      while (stop < text.size()) {
        size_t q = stop;
        if (!IsWhitespace(NextCodePoint(text, q))) break;
        stop = q;
      }
    }
    if (start < start_offset) continue;  // overlaps what an rstrip already consumed
    if (start_offset < start) out.push_back(Match{-1, start_offset, start});
    out.push_back(Match{index, start, stop});
    start_offset = stop;
  }
  if (start_offset < text.size()) out.push_back(Match{-1, start_offset, text.size()});
  return out;
}

std::vector<Piece> AddedVocabulary::ExtractAndNormalize(std::string_view text,
                                                       const Normalizer* normalizer) const {
  std::vector<Piece> pieces;
  // 1. Non-normalized tokens on the raw input.
  std::vector<Match> raw = raw_trie_.empty() ? std::vector<Match>{} : FindMatches(text, raw_trie_);
  if (raw_trie_.empty() && !text.empty()) raw.push_back(Match{-1, 0, text.size()});
  for (const Match& m : raw) {
    if (m.token_index >= 0) {
      pieces.push_back(Piece{"", tokens_[m.token_index].id, false});
      continue;
    }
    // 2. Normalize the text in between, then split it on the normalized tokens.
    std::string normalized(text.substr(m.start, m.end - m.start));
    if (normalizer != nullptr) normalizer->Normalize(normalized);
    if (normalized.empty()) continue;
    const bool at_origin = m.start == 0;
    if (normalized_trie_.empty()) {
      pieces.push_back(Piece{std::move(normalized), -1, at_origin});
      continue;
    }
    for (const Match& n : FindMatches(normalized, normalized_trie_)) {
      if (n.token_index >= 0) {
        pieces.push_back(Piece{"", tokens_[n.token_index].id, false});
      } else if (n.end > n.start) {
        pieces.push_back(Piece{normalized.substr(n.start, n.end - n.start), -1, at_origin && n.start == 0});
      }
    }
  }
  return pieces;
}

std::optional<int32_t> AddedVocabulary::TokenToId(std::string_view content) const {
  auto it = content_to_id_.find(absl::string_view(content.data(), content.size()));
  if (it == content_to_id_.end()) return std::nullopt;
  return it->second;
}

const std::string* AddedVocabulary::IdToToken(int32_t id) const {
  auto it = id_to_decoded_.find(id);
  return it == id_to_decoded_.end() ? nullptr : &it->second;
}

bool AddedVocabulary::IsSpecialId(int32_t id) const {
  auto it = id_to_index_.find(id);
  return it != id_to_index_.end() && tokens_[it->second].special;
}

int32_t AddedVocabulary::max_id() const {
  int32_t m = -1;
  for (const AddedToken& t : tokens_) m = std::max(m, t.id);
  return m;
}

}  // namespace attnserve::tok

// BPE model: loading vocab/merges and the rank-ordered merge loop.
#include "engine/tokenizer/bpe_model.h"

#include <mutex>
#include <queue>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {
namespace {

std::string OptionalString(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return "";
  return j[key].get<std::string>();
}

}  // namespace

absl::StatusOr<int32_t> TokenIdFromJson(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > kMaxTokenId) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": token id must be an integer in [0, ", kMaxTokenId, "], got ", v.dump()));
  }
  return static_cast<int32_t>(v.get<int64_t>());
}

absl::StatusOr<std::unique_ptr<BpeModel>> BpeModel::FromJson(const nlohmann::json& j) {
  const std::string type = j.value("type", "BPE");
  if (type != "BPE") {
    return absl::UnimplementedError(absl::StrCat("unsupported model type '", type, "' (only BPE is supported)"));
  }
  auto m = std::unique_ptr<BpeModel>(new BpeModel());
  const auto& vocab = j.at("vocab");
  m->vocab_.reserve(vocab.size());
  int32_t max_id = -1;
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    absl::StatusOr<int32_t> parsed = TokenIdFromJson(it.value(), absl::StrCat("vocab token '", it.key(), "'"));
    if (!parsed.ok()) return parsed.status();
    const int32_t id = *parsed;
    m->vocab_[it.key()] = id;
    max_id = std::max(max_id, id);
  }
  m->id_to_token_.resize(max_id + 1);
  m->id_present_.assign(max_id + 1, false);
  for (const auto& [token, id] : m->vocab_) {
    m->id_to_token_[id] = token;
    m->id_present_[id] = true;
  }
  m->continuing_subword_prefix_ = OptionalString(j, "continuing_subword_prefix");
  m->end_of_word_suffix_ = OptionalString(j, "end_of_word_suffix");
  m->fuse_unk_ = j.value("fuse_unk", false);
  m->byte_fallback_ = j.value("byte_fallback", false);
  m->ignore_merges_ = j.value("ignore_merges", false);
  if (j.contains("dropout") && !j["dropout"].is_null() && j["dropout"].get<double>() > 0.0) {
    return absl::UnimplementedError("BPE dropout is not supported");
  }
  std::string unk = OptionalString(j, "unk_token");
  if (!unk.empty()) {
    auto it = m->vocab_.find(unk);
    if (it == m->vocab_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unk_token '", unk, "' is not in the vocabulary"));
    }
    m->unk_id_ = it->second;
  }
  for (int b = 0; b < 256; ++b) {
    auto it = m->vocab_.find(absl::StrFormat("<0x%02X>", b));
    m->byte_ids_[b] = it == m->vocab_.end() ? -1 : it->second;
  }

  const auto& merges = j.at("merges");
  m->merges_.reserve(merges.size());
  const size_t prefix_len = m->continuing_subword_prefix_.size();
  uint32_t rank = 0;
  for (const auto& merge : merges) {
    std::string a, b;
    if (merge.is_string()) {
      const std::string& line = merge.get_ref<const std::string&>();
      if (line.rfind("#version", 0) == 0) continue;
      size_t space = line.find(' ');
      if (space == std::string::npos || line.find(' ', space + 1) != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat("bad merge #", rank + 1, ": '", line, "'"));
      }
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else if (merge.is_array() && merge.size() == 2) {
      a = merge[0].get<std::string>();
      b = merge[1].get<std::string>();
    } else {
      return absl::InvalidArgumentError(absl::StrCat("bad merge #", rank + 1, ": ", merge.dump()));
    }
    auto ia = m->vocab_.find(a), ib = m->vocab_.find(b);
    if (ia == m->vocab_.end() || ib == m->vocab_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("merge #", rank + 1, " '", a, " ", b,
                                                     "' uses a token missing from the vocabulary"));
    }
    std::string merged = a;
    if (prefix_len > 0 && b.compare(0, prefix_len, m->continuing_subword_prefix_) == 0) {
      merged.append(b, prefix_len, std::string::npos);
    } else {
      merged.append(b);
    }
    auto im = m->vocab_.find(merged);
    if (im == m->vocab_.end()) {
      return absl::InvalidArgumentError(absl::StrCat("merge #", rank + 1, " '", a, " ", b, "' makes '", merged,
                                                     "' which is not in the vocabulary"));
    }
    m->merges_[PairKey(ia->second, ib->second)] = MergeInfo{rank, im->second};
    ++rank;
  }
  return m;
}

std::optional<int32_t> BpeModel::TokenToId(std::string_view token) const {
  auto it = vocab_.find(absl::string_view(token.data(), token.size()));
  if (it == vocab_.end()) return std::nullopt;
  return it->second;
}

const std::string* BpeModel::IdToToken(int32_t id) const {
  if (id < 0 || id >= static_cast<int32_t>(id_to_token_.size()) || !id_present_[id]) return nullptr;
  return &id_to_token_[id];
}

void BpeModel::Tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (ignore_merges_) {
    auto it = vocab_.find(absl::string_view(word.data(), word.size()));
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  if (cacheable) {
    std::shared_lock lock(cache_mu_);
    auto it = cache_.find(absl::string_view(word.data(), word.size()));
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  MergeWord(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::unique_lock lock(cache_mu_);
    if (cache_.size() < kCacheCapacity) cache_.emplace(std::string(word), std::move(ids));
  }
}

void BpeModel::MergeWord(std::string_view word, std::vector<int32_t>& out) const {
  // Symbols form a doubly linked list; merged-away symbols get len 0.
  struct Symbol {
    int32_t id;
    int32_t prev;
    int32_t next;
    uint32_t len;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&symbols](int32_t id, uint32_t len) {
    int32_t n = static_cast<int32_t>(symbols.size());
    if (n > 0) symbols.back().next = n;
    symbols.push_back(Symbol{id, n - 1, -1, len});
  };

  int32_t pending_unk_id = -1;  // an unk symbol not yet added (fuse_unk grows it)
  uint32_t pending_unk_len = 0;
  std::string key;
  for (size_t pos = 0; pos < word.size();) {
    const size_t start = pos;
    pos += std::min(Utf8SeqLen(static_cast<unsigned char>(word[pos])), word.size() - pos);
    const bool is_first = start == 0, is_last = pos == word.size();
    std::string_view ch = word.substr(start, pos - start);
    key.clear();
    if (!is_first) key.append(continuing_subword_prefix_);
    key.append(ch);
    if (is_last) key.append(end_of_word_suffix_);
    const uint32_t byte_len = static_cast<uint32_t>(ch.size());
    auto it = vocab_.find(key);
    if (it != vocab_.end()) {
      if (pending_unk_id >= 0) add(pending_unk_id, pending_unk_len);
      pending_unk_id = -1;
      add(it->second, byte_len);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char b : key) all &= byte_ids_[b] >= 0;
      if (all) {
        // tokenizers does not flush a pending unk here; it is added after these bytes.
        for (unsigned char b : key) add(byte_ids_[b], 1);
        continue;
      }
    }
    if (unk_id_) {
      if (pending_unk_id >= 0 && fuse_unk_) {
        pending_unk_len += byte_len;
      } else {
        if (pending_unk_id >= 0) add(pending_unk_id, pending_unk_len);
        pending_unk_id = *unk_id_;
        pending_unk_len = byte_len;
      }
    }
  }
  if (pending_unk_id >= 0) add(pending_unk_id, pending_unk_len);

  struct Candidate {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
  };
  auto lower_priority = [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank > b.rank : a.pos > b.pos;
  };
  std::priority_queue<Candidate, std::vector<Candidate>, decltype(lower_priority)> queue(lower_priority);
  auto lookup = [this](int32_t a, int32_t b) -> const MergeInfo* {
    auto it = merges_.find(PairKey(a, b));
    return it == merges_.end() ? nullptr : &it->second;
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (const MergeInfo* m = lookup(symbols[i].id, symbols[i + 1].id)) {
      queue.push(Candidate{m->rank, static_cast<int32_t>(i), m->new_id});
    }
  }
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol& cur = symbols[top.pos];
    if (cur.len == 0 || cur.next == -1) continue;
    const int32_t next_pos = cur.next;
    const Symbol right = symbols[next_pos];
    const MergeInfo* m = lookup(cur.id, right.id);
    if (m == nullptr || m->new_id != top.new_id) continue;  // stale entry
    cur.id = top.new_id;
    cur.len += right.len;
    cur.next = right.next;
    symbols[next_pos].len = 0;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (cur.prev >= 0) {
      if (const MergeInfo* pm = lookup(symbols[cur.prev].id, cur.id)) {
        queue.push(Candidate{pm->rank, cur.prev, pm->new_id});
      }
    }
    if (cur.next >= 0) {
      if (const MergeInfo* nm = lookup(cur.id, symbols[cur.next].id)) {
        queue.push(Candidate{nm->rank, top.pos, nm->new_id});
      }
    }
  }
  for (const Symbol& s : symbols) {
    if (s.len != 0) out.push_back(s.id);
  }
}

}  // namespace attnserve::tok

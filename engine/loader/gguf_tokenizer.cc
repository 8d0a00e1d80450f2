// TokenizerFromGguf (gguf_tokenizer.h): the tokenizer.json that transformers' GGUF tokenizer
// builder (integrations/gguf/gguf_tokenizer_mapping.py) makes of the same metadata, parsed by
// Tokenizer::FromJson — one tokenizer implementation for HF directories and GGUF files.
//   "gpt2":  byte-level BPE (GPT2Tokenizer): vocabulary spelled in the byte alphabet, the file's
//            merges, ByteLevel pre-tokenizer (GPT-2 regex) or a Split by the regex of
//            tokenizer.ggml.pre, ByteLevel decoder;
//   "llama": SentencePiece BPE (LlamaTokenizer): Metaspace "▁" (dummy prefix), byte fallback
//            <0xNN>, merges from the file or derived from the vocabulary and its scores
//            (generate_merges), decoder Replace/ByteFallback/Fuse/Strip.
// Control tokens (type 3) are special added tokens, user-defined ones (type 4) plain added
// tokens; BOS/EOS are added by the post-processor when tokenizer.ggml.add_bos_token /
// add_eos_token say so (llama: BOS by default).
#include "engine/loader/gguf_tokenizer.h"

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/tokenizer/unicode.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using json = nlohmann::json;

constexpr int kTypeNormal = 1, kTypeUnknown = 2, kTypeControl = 3, kTypeUserDefined = 4;

const char kLlama3Split[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char kQwen2Split[] =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char kTekkenSplit[] =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
const char kGpt4oSplit[] =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Marker: each digit isolated, then GPT-2's byte-level regex — llama.cpp's StarCoder family
// (starcoder, smollm, refact, command-r, codeshell, exaone, minerva-7b), as those models' own
// tokenizer.json pre-tokenize (Digits individual_digits + ByteLevel); transformers' GGUF loader
// leaves the digit split out, so for these names attnserve follows llama.cpp and the model.
const char kDigitsThenGpt2[] = "digits+gpt2";

// tokenizer.ggml.pre -> the split regex transformers uses (GGUF_PRE_TOKENIZER_SPLITS), "" for
// the names whose vocabularies use GPT-2's own byte-level regex, or kDigitsThenGpt2.
const std::map<std::string, const char*>& PreTokenizerSplits() {
  static const auto* table = new std::map<std::string, const char*>{
      {"default", ""},         {"gpt-2", ""},          {"gpt2", ""},           {"smollm", kDigitsThenGpt2},
      {"mpt", ""},             {"olmo", ""},           {"jais", ""},  // llama.cpp: GPT-2 regex
      {"starcoder", kDigitsThenGpt2}, {"refact", kDigitsThenGpt2}, {"command-r", kDigitsThenGpt2},
      {"codeshell", kDigitsThenGpt2}, {"exaone", kDigitsThenGpt2}, {"minerva-7b", kDigitsThenGpt2},
      {"llama3", kLlama3Split}, {"llama-v3", kLlama3Split}, {"llama-bpe", kLlama3Split},
      {"falcon3", kLlama3Split}, {"pixtral", kLlama3Split}, {"dbrx", kLlama3Split},
      {"smaug-bpe", kLlama3Split}, {"tekken", kTekkenSplit}, {"qwen2", kQwen2Split},
      {"deepseek-r1-qwen", kQwen2Split}, {"megrez", kQwen2Split}, {"gpt-4o", kGpt4oSplit},
      {"llama4", kGpt4oSplit}};
  return *table;
}

// GPT-2's bytes_to_unicode: byte -> the code point that spells it in byte-level vocabularies.
std::vector<char32_t> ByteAlphabet() {
  std::vector<char32_t> map(256);
  std::vector<bool> direct(256, false);
  for (int b = '!'; b <= '~'; ++b) direct[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
  int n = 0;
  for (int b = 0; b < 256; ++b) map[b] = direct[b] ? char32_t(b) : char32_t(256 + n++);
  return map;
}

void AppendUtf8(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

// UTF-8 -> code points (invalid bytes kept as themselves, so nothing is lost).
std::vector<char32_t> CodePoints(const std::string& s) {
  std::vector<char32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > s.size()) len = 1;
    char32_t cp = len == 1 ? c : c & (0x7F >> len);
    for (int k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

std::string FromCodePoints(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) AppendUtf8(cps[i], out);
  return out;
}

// transformers' generate_merges(vocab, vocab_scores): every split of every token into two
// vocabulary pieces, ordered best score first, then by the pieces' lengths (code points),
// longest first; ties keep vocabulary order (Python's stable sort with reverse=True).
json DeriveMerges(const std::vector<std::string>& tokens, const std::vector<double>& scores,
                  const std::unordered_map<std::string, int64_t>& vocab) {
  struct Merge {
    std::string left, right;
    double score;
    size_t left_len, right_len;
  };
  // vocab_scores = dict(zip(tokens, scores)): a repeated token keeps its first position and
  // its last score.
  std::vector<std::pair<std::string, double>> ordered;
  std::unordered_map<std::string, size_t> position;
  for (size_t i = 0; i < tokens.size(); ++i) {
    auto [it, inserted] = position.emplace(tokens[i], ordered.size());
    if (inserted) {
      ordered.emplace_back(tokens[i], scores[i]);
    } else {
      ordered[it->second].second = scores[i];
    }
  }
  std::vector<Merge> merges;
  for (const auto& [token, score] : ordered) {
    const std::vector<char32_t> cps = CodePoints(token);
    std::vector<Merge> local;
    for (size_t cut = 1; cut < cps.size(); ++cut) {
      std::string left = FromCodePoints(cps, 0, cut), right = FromCodePoints(cps, cut, cps.size());
      if (vocab.count(left) && vocab.count(right)) local.push_back({left, right, score, cut, cps.size() - cut});
    }
    std::sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      const int64_t al = vocab.at(a.left), bl = vocab.at(b.left);
      return al != bl ? al < bl : vocab.at(a.right) < vocab.at(b.right);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    if (a.score != b.score) return a.score > b.score;
    if (a.left_len != b.left_len) return a.left_len > b.left_len;
    return a.right_len > b.right_len;
  });
  json out = json::array();
  for (const Merge& m : merges) out.push_back(json::array({m.left, m.right}));
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGguf(const GgufFile& file) {
  const std::string& path = file.path();
  auto bad = [&](const std::string& key, const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": metadata '", key, "' ", what));
  };
  const GgufValue* model_v = file.Find("tokenizer.ggml.model");
  if (model_v == nullptr || !model_v->value.is_string()) return bad("tokenizer.ggml.model", "is missing or not a string");
  const std::string model = model_v->value.get<std::string>();
  if (model != "gpt2" && model != "llama") {
    return bad("tokenizer.ggml.model", absl::StrCat("is \"", model, "\" (supported: gpt2, llama)"));
  }
  const GgufValue* tokens_v = file.Find("tokenizer.ggml.tokens");
  if (tokens_v == nullptr || !tokens_v->value.is_array() || tokens_v->value.empty()) {
    return bad("tokenizer.ggml.tokens", "is missing or not a non-empty array");
  }
  std::vector<std::string> tokens;
  tokens.reserve(tokens_v->value.size());
  for (const json& t : tokens_v->value) {
    if (!t.is_string()) return bad("tokenizer.ggml.tokens", "has a non-string entry");
    tokens.push_back(t.get<std::string>());
    if (!tok::IsValidUtf8(tokens.back())) {
      return bad("tokenizer.ggml.tokens", absl::StrCat("entry ", tokens.size() - 1, " is not valid UTF-8"));
    }
  }
  const int64_t n = static_cast<int64_t>(tokens.size());
  std::vector<int> types(tokens.size(), kTypeNormal);
  if (const GgufValue* v = file.Find("tokenizer.ggml.token_type"); v != nullptr) {
    if (!v->value.is_array() || static_cast<int64_t>(v->value.size()) != n) {
      return bad("tokenizer.ggml.token_type", absl::StrCat("must be an array of ", n, " integers (one per token)"));
    }
    for (int64_t i = 0; i < n; ++i) {
      if (!v->value[i].is_number_integer()) return bad("tokenizer.ggml.token_type", "has a non-integer entry");
      types[i] = v->value[i].get<int>();
    }
  }
  auto id_of = [&](const char* key, std::optional<int64_t>& out) -> absl::Status {
    const GgufValue* v = file.Find(key);
    if (v == nullptr) return absl::OkStatus();
    if (!v->value.is_number_integer()) return bad(key, "must be an integer");
    const int64_t id = v->value.get<int64_t>();
    if (id < 0 || id >= n) return bad(key, absl::StrCat("is ", id, ", outside the vocabulary of ", n, " tokens"));
    out = id;
    return absl::OkStatus();
  };
  std::optional<int64_t> bos, eos, unk;
  if (absl::Status s = id_of("tokenizer.ggml.bos_token_id", bos); !s.ok()) return s;
  if (absl::Status s = id_of("tokenizer.ggml.eos_token_id", eos); !s.ok()) return s;
  if (absl::Status s = id_of("tokenizer.ggml.unknown_token_id", unk); !s.ok()) return s;
  auto flag = [&](const char* key, bool fallback) -> absl::StatusOr<bool> {
    const GgufValue* v = file.Find(key);
    if (v == nullptr) return fallback;
    if (!v->value.is_boolean()) return bad(key, "must be a bool");
    return v->value.get<bool>();
  };
  absl::StatusOr<bool> add_bos = flag("tokenizer.ggml.add_bos_token", model == "llama");
  if (!add_bos.ok()) return add_bos.status();
  absl::StatusOr<bool> add_eos = flag("tokenizer.ggml.add_eos_token", false);
  if (!add_eos.ok()) return add_eos.status();
  absl::StatusOr<bool> space_prefix = flag("tokenizer.ggml.add_space_prefix", true);
  if (!space_prefix.ok()) return space_prefix.status();

  json tj = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"normalizer", nullptr}};
  json vocab = json::object();
  std::unordered_map<std::string, int64_t> vocab_index;
  json added = json::array();
  const std::vector<char32_t> alphabet = ByteAlphabet();
  const std::set<char32_t> spelled(alphabet.begin(), alphabet.end());
  auto add_token = [&](int64_t id, bool special) {
    added.push_back({{"id", id}, {"content", tokens[id]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", special}});
  };
  if (model == "gpt2") {
    for (int64_t i = 0; i < n; ++i) {
      const std::vector<char32_t> cps = CodePoints(tokens[i]);
      const bool in_alphabet = std::all_of(cps.begin(), cps.end(), [&](char32_t c) { return spelled.count(c) > 0; });
      std::string key;
      if (in_alphabet) {
        key = tokens[i];
      } else {  // spelled in the byte alphabet, as transformers' byte_level_tokenizer does
        for (unsigned char b : tokens[i]) AppendUtf8(alphabet[b], key);
      }
      vocab[key] = i;
      if (types[i] == kTypeControl && in_alphabet) add_token(i, true);
      if (types[i] == kTypeUserDefined) add_token(i, false);
    }
    const GgufValue* merges_v = file.Find("tokenizer.ggml.merges");
    if (merges_v == nullptr || !merges_v->value.is_array()) {
      return bad("tokenizer.ggml.merges", "is missing (a gpt2 vocabulary needs its merges)");
    }
    json merges = json::array();
    for (const json& m : merges_v->value) {
      if (!m.is_string()) return bad("tokenizer.ggml.merges", "has a non-string entry");
      const std::string s = m.get<std::string>();
      if (!tok::IsValidUtf8(s)) return bad("tokenizer.ggml.merges", "has an entry that is not valid UTF-8");
      const size_t space = s.find(' ');
      if (space == std::string::npos) return bad("tokenizer.ggml.merges", absl::StrCat("entry \"", s, "\" is not \"left right\""));
      merges.push_back(json::array({s.substr(0, space), s.substr(space + 1)}));
    }
    std::string pre = "default";
    if (const GgufValue* v = file.Find("tokenizer.ggml.pre"); v != nullptr) {
      if (!v->value.is_string()) return bad("tokenizer.ggml.pre", "must be a string");
      pre = v->value.get<std::string>();
    }
    auto split = PreTokenizerSplits().find(pre);
    if (split == PreTokenizerSplits().end()) {
      std::vector<std::string> names;
      for (const auto& [name, regex] : PreTokenizerSplits()) names.push_back(name);
      return bad("tokenizer.ggml.pre", absl::StrCat("is \"", pre, "\", a pre-tokenizer attnserve does not know (supported: ",
                                                    absl::StrJoin(names, ", "), ")"));
    }
    if (*split->second == '\0') {
      tj["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
    } else if (split->second == kDigitsThenGpt2) {
      tj["pre_tokenizer"] = {{"type", "Sequence"},
                             {"pretokenizers",
                              {{{"type", "Digits"}, {"individual_digits", true}},
                               {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}}}};
    } else {
      tj["pre_tokenizer"] = {{"type", "Sequence"},
                             {"pretokenizers",
                              {{{"type", "Split"}, {"pattern", {{"Regex", split->second}}}, {"behavior", "Isolated"}, {"invert", false}},
                               {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}}}};
    }
    tj["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    tj["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", ""},
                   {"end_of_word_suffix", ""}, {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", false},
                   {"vocab", vocab}, {"merges", merges}};
  } else {
    for (int64_t i = 0; i < n; ++i) {
      vocab[tokens[i]] = i;
      vocab_index.emplace(tokens[i], i);
      if (types[i] == kTypeControl || types[i] == kTypeUnknown) add_token(i, true);
      if (types[i] == kTypeUserDefined) add_token(i, false);
    }
    json merges;
    if (const GgufValue* merges_v = file.Find("tokenizer.ggml.merges"); merges_v != nullptr && merges_v->value.is_array()) {
      merges = json::array();
      for (const json& m : merges_v->value) {
        const std::string s = m.is_string() ? m.get<std::string>() : "";
        if (!tok::IsValidUtf8(s)) return bad("tokenizer.ggml.merges", "has an entry that is not valid UTF-8");
        const size_t space = s.find(' ');
        if (space == std::string::npos) return bad("tokenizer.ggml.merges", "has an entry that is not \"left right\"");
        merges.push_back(json::array({s.substr(0, space), s.substr(space + 1)}));
      }
    } else {
      const GgufValue* scores_v = file.Find("tokenizer.ggml.scores");
      if (scores_v == nullptr || !scores_v->value.is_array() || static_cast<int64_t>(scores_v->value.size()) != n) {
        return bad("tokenizer.ggml.scores", absl::StrCat("must be an array of ", n, " numbers when there are no merges"));
      }
      std::vector<double> scores;
      for (const json& s : scores_v->value) {
        if (!s.is_number()) return bad("tokenizer.ggml.scores", "has a non-number entry");
        scores.push_back(s.get<double>());
      }
      merges = DeriveMerges(tokens, scores, vocab_index);
    }
    tj["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\xE2\x96\x81"},
                           {"prepend_scheme", *space_prefix ? "first" : "never"}, {"split", false}};
    tj["decoder"] = {{"type", "Sequence"},
                     {"decoders",
                      {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
                       {{"type", "ByteFallback"}},
                       {{"type", "Fuse"}},
                       {{"type", "Strip"}, {"content", " "}, {"start", *space_prefix ? 1 : 0}, {"stop", 0}}}}};
    tj["model"] = {{"type", "BPE"}, {"dropout", nullptr},
                   {"unk_token", unk ? json(tokens[*unk]) : json(nullptr)}, {"continuing_subword_prefix", nullptr},
                   {"end_of_word_suffix", nullptr}, {"fuse_unk", true}, {"byte_fallback", true}, {"ignore_merges", false},
                   {"vocab", vocab}, {"merges", merges}};
  }
  tj["added_tokens"] = added;
  // Post-processor: BOS / EOS around the sequence as the file asks.
  json single = json::array(), special = json::object();
  auto special_piece = [&](int64_t id) {
    single.push_back({{"SpecialToken", {{"id", tokens[id]}, {"type_id", 0}}}});
    special[tokens[id]] = {{"id", tokens[id]}, {"ids", {id}}, {"tokens", {tokens[id]}}};
  };
  if (*add_bos && bos) special_piece(*bos);
  single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
  if (*add_eos && eos) special_piece(*eos);
  json pair = single;
  pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
  tj["post_processor"] = {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", special}};
  return Tokenizer::FromJson(tj.dump(), absl::StrCat(path, " (tokenizer from GGUF metadata)"));
}

}  // namespace attnserve

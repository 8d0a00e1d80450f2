// Tokenizer::FromFile / FromJson: parses a Hugging Face tokenizer.json into an HfTokenizer.
// Every error is prefixed with the file (origin) name.
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/tokenizer/bpe_model.h"
#include "engine/tokenizer/hf_tokenizer.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using tok::TokenizerParts;

absl::Status WithOrigin(const absl::Status& s, std::string_view origin) {
  return absl::Status(s.code(), absl::StrCat(std::string(origin), ": ", s.message()));
}

const nlohmann::json& Field(const nlohmann::json& root, const char* key) {
  static const nlohmann::json kNull;
  auto it = root.find(key);
  return it == root.end() ? kNull : *it;
}

absl::StatusOr<TokenizerParts> ParseParts(const nlohmann::json& root) {
  if (!root.is_object()) return absl::InvalidArgumentError("top level is not a JSON object");
  if (!root.contains("model")) return absl::InvalidArgumentError("missing \"model\"");
  TokenizerParts parts;
  auto normalizer = tok::ParseNormalizer(Field(root, "normalizer"));
  if (!normalizer.ok()) return normalizer.status();
  parts.normalizer = std::move(*normalizer);
  auto pre = tok::ParsePreTokenizer(Field(root, "pre_tokenizer"));
  if (!pre.ok()) return pre.status();
  parts.pre_tokenizer = std::move(*pre);
  auto model = tok::BpeModel::FromJson(root["model"]);
  if (!model.ok()) return model.status();
  parts.model = std::move(*model);
  auto post = tok::ParsePostProcessor(Field(root, "post_processor"));
  if (!post.ok()) return post.status();
  parts.post_processor = std::move(*post);
  auto decoder = tok::ParseDecoder(Field(root, "decoder"));
  if (!decoder.ok()) return decoder.status();
  parts.decoder = std::move(*decoder);
  for (const auto& t : Field(root, "added_tokens")) {
    tok::AddedToken added;
    added.content = t.at("content").get<std::string>();
    absl::StatusOr<int32_t> id = tok::TokenIdFromJson(t.at("id"), "added_tokens");
    if (!id.ok()) return id.status();
    added.id = *id;
    added.single_word = t.value("single_word", false);
    added.lstrip = t.value("lstrip", false);
    added.rstrip = t.value("rstrip", false);
    added.normalized = t.value("normalized", !t.value("special", false));
    added.special = t.value("special", false);
    parts.added_tokens.push_back(std::move(added));
  }
  return parts;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromJson(std::string_view json, std::string_view origin) {
  nlohmann::json root;
  try {
    root = nlohmann::json::parse(json.begin(), json.end());
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(origin), ": malformed JSON: ", e.what()));
  }
  try {
    auto parts = ParseParts(root);
    if (!parts.ok()) return WithOrigin(parts.status(), origin);
    return std::unique_ptr<Tokenizer>(new tok::HfTokenizer(std::move(*parts)));
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(origin), ": bad tokenizer.json: ", e.what()));
  }
}

absl::StatusOr<std::unique_ptr<Tokenizer>> Tokenizer::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open tokenizer file"));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": error reading tokenizer file"));
  return FromJson(buf.str(), path);
}

}  // namespace attnserve

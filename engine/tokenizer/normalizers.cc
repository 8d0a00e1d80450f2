// Normalizer implementations and their JSON parsing.
#include "engine/tokenizer/normalizers.h"

#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/byte_level.h"
#include "engine/tokenizer/regex.h"
#include "engine/tokenizer/replace_pattern.h"
#include "engine/tokenizer/unicode.h"

namespace attnserve::tok {
namespace {

class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(NormalForm form) : form_(form) {}
  void Normalize(std::string& text) const override { text = tok::Normalize(text, form_); }

 private:
  NormalForm form_;
};

class LowercaseNormalizer final : public Normalizer {
 public:
  void Normalize(std::string& text) const override { text = Lowercase(text); }
};

class StripNormalizer final : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void Normalize(std::string& text) const override {
    size_t first = std::string::npos, last_end = 0;
    for (size_t pos = 0; pos < text.size();) {
      size_t start = pos;
      if (!IsWhitespace(NextCodePoint(text, pos))) {
        if (first == std::string::npos) first = start;
        last_end = pos;
      }
    }
    if (first == std::string::npos) {
      if (left_ || right_) text.clear();
      return;
    }
    size_t begin = left_ ? first : 0, end = right_ ? last_end : text.size();
    text = text.substr(begin, end - begin);
  }

 private:
  bool left_, right_;
};

class StripAccentsNormalizer final : public Normalizer {
 public:
  void Normalize(std::string& text) const override {
    std::string out;
    out.reserve(text.size());
    for (size_t pos = 0; pos < text.size();) {
      size_t start = pos;
      if (!IsCombiningMark(NextCodePoint(text, pos))) out.append(text, start, pos - start);
    }
    text = std::move(out);
  }
};

class PrependNormalizer final : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prepend) : prepend_(std::move(prepend)) {}
  void Normalize(std::string& text) const override {
    if (!text.empty()) text.insert(0, prepend_);
  }

 private:
  std::string prepend_;
};

class ReplaceNormalizer final : public Normalizer {
 public:
  ReplaceNormalizer(std::optional<Regex> regex, std::string literal, std::string content)
      : pattern_{std::move(regex), std::move(literal), std::move(content)} {}
  void Normalize(std::string& text) const override { text = pattern_.Apply(text); }

 private:
  ReplacePattern pattern_;
};

class ByteLevelNormalizer final : public Normalizer {
 public:
  void Normalize(std::string& text) const override {
    std::string out;
    AppendByteLevel(text, out);
    text = std::move(out);
  }
};

class SequenceNormalizer final : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  void Normalize(std::string& text) const override {
    for (const auto& p : parts_) {
      if (text.empty()) return;
      p->Normalize(text);
    }
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Normalizer>> ParseNormalizer(const nlohmann::json& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.value("type", "");
  if (type == "NFC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfc);
  if (type == "NFD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfd);
  if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfkc);
  if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(NormalForm::kNfkd);
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "ByteLevel") return std::make_unique<ByteLevelNormalizer>();
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(j.value("strip_left", true), j.value("strip_right", true));
  }
  if (type == "Prepend") return std::make_unique<PrependNormalizer>(j.at("prepend").get<std::string>());
  if (type == "Replace") {
    const auto& pattern = j.at("pattern");
    std::string content = j.at("content").get<std::string>();
    if (pattern.contains("Regex")) {
      auto regex = Regex::Compile(pattern.at("Regex").get<std::string>());
      if (!regex.ok()) return regex.status();
      return std::make_unique<ReplaceNormalizer>(std::move(*regex), "", std::move(content));
    }
    return std::make_unique<ReplaceNormalizer>(std::nullopt, pattern.at("String").get<std::string>(),
                                               std::move(content));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const auto& part : j.at("normalizers")) {
      auto n = ParseNormalizer(part);
      if (!n.ok()) return n.status();
      if (*n) parts.push_back(std::move(*n));
    }
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  return absl::UnimplementedError(absl::StrCat("unsupported normalizer type '", type, "'"));
}

}  // namespace attnserve::tok

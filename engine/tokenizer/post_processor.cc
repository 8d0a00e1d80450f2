// Post-processor implementations and their JSON parsing.
#include "engine/tokenizer/post_processor.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "engine/tokenizer/bpe_model.h"

namespace attnserve::tok {
namespace {

// Ids from the template: a special token's ids, or (empty optional) the sequence itself.
class TemplateProcessor final : public PostProcessor {
 public:
  explicit TemplateProcessor(std::vector<std::optional<std::vector<int32_t>>> pieces)
      : pieces_(std::move(pieces)) {}
  void Process(std::vector<int32_t>& ids) const override {
    std::vector<int32_t> out;
    out.reserve(ids.size() + 4);
    for (const auto& piece : pieces_) {
      if (piece) {
        out.insert(out.end(), piece->begin(), piece->end());
      } else {
        out.insert(out.end(), ids.begin(), ids.end());
      }
    }
    ids = std::move(out);
  }

 private:
  std::vector<std::optional<std::vector<int32_t>>> pieces_;
};

class NoOpProcessor final : public PostProcessor {
 public:
  void Process(std::vector<int32_t>&) const override {}
};

class SequenceProcessor final : public PostProcessor {
 public:
  explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : parts_(std::move(parts)) {}
  void Process(std::vector<int32_t>& ids) const override {
    for (const auto& p : parts_) p->Process(ids);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> parts_;
};

absl::StatusOr<std::unique_ptr<PostProcessor>> ParseTemplate(const nlohmann::json& j) {
  const auto& specials = j.at("special_tokens");
  std::vector<std::optional<std::vector<int32_t>>> pieces;
  for (const auto& piece : j.at("single")) {
    if (piece.contains("SpecialToken")) {
      std::string id = piece["SpecialToken"].at("id").get<std::string>();
      if (!specials.contains(id)) {
        return absl::InvalidArgumentError(absl::StrCat("template special token '", id, "' is not defined"));
      }
      std::vector<int32_t> ids;
      for (const auto& v : specials[id].at("ids")) {
        absl::StatusOr<int32_t> parsed = TokenIdFromJson(v, absl::StrCat("post_processor special token '", id, "'"));
        if (!parsed.ok()) return parsed.status();
        ids.push_back(*parsed);
      }
      pieces.emplace_back(std::move(ids));
    } else if (piece.contains("Sequence")) {
      pieces.emplace_back(std::nullopt);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("bad template piece ", piece.dump()));
    }
  }
  return std::make_unique<TemplateProcessor>(std::move(pieces));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PostProcessor>> ParsePostProcessor(const nlohmann::json& j) {
  if (j.is_null()) return nullptr;
  const std::string type = j.value("type", "");
  if (type == "TemplateProcessing") return ParseTemplate(j);
  if (type == "ByteLevel") return std::make_unique<NoOpProcessor>();
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    // "cls": ["<s>", 0], "sep": ["</s>", 2]
    absl::StatusOr<int32_t> cls = TokenIdFromJson(j.at("cls").at(1), "post_processor cls");
    if (!cls.ok()) return cls.status();
    absl::StatusOr<int32_t> sep = TokenIdFromJson(j.at("sep").at(1), "post_processor sep");
    if (!sep.ok()) return sep.status();
    std::vector<std::optional<std::vector<int32_t>>> pieces;
    pieces.emplace_back(std::vector<int32_t>{*cls});
    pieces.emplace_back(std::nullopt);
    pieces.emplace_back(std::vector<int32_t>{*sep});
    return std::make_unique<TemplateProcessor>(std::move(pieces));
  }
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PostProcessor>> parts;
    for (const auto& part : j.at("processors")) {
      auto p = ParsePostProcessor(part);
      if (!p.ok()) return p.status();
      if (*p) parts.push_back(std::move(*p));
    }
    return std::make_unique<SequenceProcessor>(std::move(parts));
  }
  return absl::UnimplementedError(absl::StrCat("unsupported post_processor type '", type, "'"));
}

}  // namespace attnserve::tok

// LoadModelChatTemplate: finds a Hugging Face model directory's chat template and special tokens.
// Precedence as in transformers: chat_template.jinja (newer save format) over
// tokenizer_config.json "chat_template".
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "engine/chat/chat_template.h"

namespace attnserve::chat {
namespace {

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path.string(), ": cannot open"));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// bos_token / eos_token: a string, an AddedToken object {"content": ...}, null or absent.
absl::StatusOr<std::string> TokenField(const nlohmann::ordered_json& config, const char* field,
                                       const std::string& file) {
  auto it = config.find(field);
  if (it == config.end() || it->is_null()) return std::string();
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  return absl::InvalidArgumentError(
      absl::StrCat(file, ": field '", field, "' must be a string or an object with a string \"content\""));
}

}  // namespace

absl::StatusOr<std::optional<ModelChatTemplate>> LoadModelChatTemplate(const std::string& model_dir) {
  const std::filesystem::path dir(model_dir);
  const std::filesystem::path config_path = dir / "tokenizer_config.json";
  const std::filesystem::path jinja_path = dir / "chat_template.jinja";
  const std::string config_file = config_path.string();

  nlohmann::ordered_json config = nlohmann::ordered_json::object();
  std::error_code ec;
  if (std::filesystem::exists(config_path, ec)) {
    auto text = ReadFile(config_path);
    if (!text.ok()) return text.status();
    try {
      config = nlohmann::ordered_json::parse(*text);
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(config_file, ": invalid JSON: ", e.what()));
    }
    if (!config.is_object()) return absl::InvalidArgumentError(absl::StrCat(config_file, ": not a JSON object"));
  }

  std::optional<std::string> source;
  std::string origin;
  if (std::filesystem::exists(jinja_path, ec)) {
    auto text = ReadFile(jinja_path);
    if (!text.ok()) return text.status();
    source = std::move(*text);
    origin = jinja_path.string();
  } else if (auto it = config.find("chat_template"); it != config.end() && !it->is_null()) {
    origin = absl::StrCat(config_file, ": field 'chat_template'");
    if (it->is_string()) {
      source = it->get<std::string>();
    } else if (it->is_array()) {
      for (const auto& entry : *it) {
        if (!entry.is_object() || !entry.contains("name") || !entry.contains("template") ||
            !entry["name"].is_string() || !entry["template"].is_string()) {
          return absl::InvalidArgumentError(absl::StrCat(
              origin, ": list entries must be objects with string \"name\" and \"template\""));
        }
        if (entry["name"] == "default") source = entry["template"].get<std::string>();
      }
      if (!source) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": no template named \"default\""));
      }
      origin += "[default]";
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": must be a string or a list of {\"name\", \"template\"}"));
    }
  }
  if (!source) return std::optional<ModelChatTemplate>();

  auto bos = TokenField(config, "bos_token", config_file);
  if (!bos.ok()) return bos.status();
  auto eos = TokenField(config, "eos_token", config_file);
  if (!eos.ok()) return eos.status();
  auto tmpl = ChatTemplate::Parse(std::move(*source));
  if (!tmpl.ok()) {
    return absl::Status(tmpl.status().code(), absl::StrCat(origin, ": ", tmpl.status().message()));
  }
  return std::optional<ModelChatTemplate>(ModelChatTemplate{std::move(*tmpl), std::move(*bos), std::move(*eos)});
}

}  // namespace attnserve::chat

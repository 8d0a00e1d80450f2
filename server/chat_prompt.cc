// ChatPrompt (see chat_prompt.h).
#include "server/chat_prompt.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/loader/gguf_model.h"

namespace attnserve::server {
namespace {

// Markers chat templates write at the end of an assistant turn, across the families attnserve
// serves (ChatML/Qwen/SmolLM2, Llama-3, Gemma, Phi-3, Mistral, DeepSeek, Granite, Command-R).
constexpr const char* kEndOfTurnMarkers[] = {
    "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<end_of_turn>", "<|end|>", "<|endoftext|>",
    "</s>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|END_OF_TURN_TOKEN|>", "<|end_of_role|>"};

absl::Status BadMessage(size_t i, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("messages[", i, "]", what));
}

// The model's own template: a GGUF file's tokenizer.chat_template, or an HF directory's
// (tokenizer_config.json / chat_template.jinja). nullopt when the model has none.
absl::StatusOr<std::optional<chat::ModelChatTemplate>> OwnTemplate(const std::string& model_path) {
  if (!IsGgufPath(model_path)) return chat::LoadModelChatTemplate(model_path);
  absl::StatusOr<GgufModel> gguf = OpenGgufModel(model_path);
  if (!gguf.ok()) return gguf.status();
  if (gguf->chat_template.empty()) return std::optional<chat::ModelChatTemplate>();
  absl::StatusOr<chat::ChatTemplate> parsed = chat::ChatTemplate::Parse(gguf->chat_template);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(model_path, ": metadata 'tokenizer.chat_template': ", parsed.status().message()));
  }
  return std::optional<chat::ModelChatTemplate>(
      chat::ModelChatTemplate{*std::move(parsed), gguf->bos_token, gguf->eos_token});
}

}  // namespace

absl::StatusOr<nlohmann::ordered_json> ChatMessagesFromOpenAi(const nlohmann::ordered_json& messages) {
  if (!messages.is_array() || messages.empty()) {
    return absl::InvalidArgumentError("messages must be a non-empty array of {role, content}");
  }
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::ordered_json& m = messages[i];
    if (!m.is_object()) return BadMessage(i, " must be an object with role and content");
    auto role_it = m.find("role");
    if (role_it == m.end() || !role_it->is_string()) return BadMessage(i, ".role must be a string");
    std::string role = role_it->get<std::string>();
    if (role == "developer") role = "system";
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      return BadMessage(i, absl::StrCat(".role '", role,
                                        "' is not one of system, developer, user, assistant, tool"));
    }
    nlohmann::ordered_json msg = m;
    msg["role"] = role;
    auto content = m.find("content");
    if (content == m.end() || content->is_null()) {
      if (role != "assistant") return BadMessage(i, ".content is missing");
      msg["content"] = "";
    } else if (content->is_array()) {
      std::string text;
      for (size_t j = 0; j < content->size(); ++j) {
        const nlohmann::ordered_json& part = (*content)[j];
        const std::string type = part.is_object() && part.contains("type") && part["type"].is_string()
                                     ? part["type"].get<std::string>() : "";
        if (type != "text" || !part.contains("text") || !part["text"].is_string()) {
          return BadMessage(i, absl::StrCat(".content[", j, "]: only {\"type\": \"text\", \"text\": ...} "
                                            "parts are supported (this model takes text only)",
                                            type.empty() ? "" : absl::StrCat(", got type '", type, "'")));
        }
        if (j > 0) text += "\n";
        text += part["text"].get<std::string>();
      }
      msg["content"] = text;
    } else if (!content->is_string()) {
      return BadMessage(i, ".content must be a string, null or a list of text parts");
    }
    if (auto calls = m.find("tool_calls"); calls != m.end() && !calls->is_null()) {
      if (!calls->is_array()) return BadMessage(i, ".tool_calls must be an array");
      for (size_t j = 0; j < calls->size(); ++j) {
        nlohmann::ordered_json& call = msg["tool_calls"][j];
        if (!call.is_object() || !call.contains("function") || !call["function"].is_object()) {
          return BadMessage(i, absl::StrCat(".tool_calls[", j, "] must have a function object"));
        }
        nlohmann::ordered_json& args = call["function"]["arguments"];
        if (args.is_string()) {
          nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(args.get<std::string>(), nullptr, false);
          if (parsed.is_discarded()) {
            return BadMessage(i, absl::StrCat(".tool_calls[", j, "].function.arguments is not valid JSON"));
          }
          args = std::move(parsed);
        }
      }
    }
    out.push_back(std::move(msg));
  }
  return out;
}

absl::StatusOr<nlohmann::ordered_json> ChatMessagesFromProto(
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const v1::ChatMessage& m : messages) {
    nlohmann::ordered_json msg = {{"role", m.role()}, {"content", m.content()}};
    if (!m.name().empty()) msg["name"] = m.name();
    if (!m.tool_call_id().empty()) msg["tool_call_id"] = m.tool_call_id();
    for (const v1::ToolCall& call : m.tool_calls()) {
      msg["tool_calls"].push_back({{"id", call.id()},
                                   {"type", "function"},
                                   {"function", {{"name", call.name()},
                                                 {"arguments", call.arguments_json().empty()
                                                                   ? "{}" : call.arguments_json()}}}});
    }
    list.push_back(std::move(msg));
  }
  return ChatMessagesFromOpenAi(list);
}

ChatPrompt::ChatPrompt(chat::ModelChatTemplate tmpl, const Tokenizer& tokenizer)
    : template_(std::move(tmpl)), tokenizer_(tokenizer) {
  auto add = [&](const std::string& token) {
    if (token.empty()) return;
    std::optional<int32_t> id = tokenizer_.TokenToId(token);
    if (id && tokenizer_.IsSpecial(*id) &&
        std::find(end_of_turn_ids_.begin(), end_of_turn_ids_.end(), *id) == end_of_turn_ids_.end()) {
      end_of_turn_ids_.push_back(*id);
    }
  };
  add(template_.eos_token);
  for (const char* marker : kEndOfTurnMarkers) {
    // <|end_of_role|> opens content in Granite; only markers that end a turn are kept.
    if (std::string_view(marker) == "<|end_of_role|>") continue;
    if (absl::StrContains(template_.tmpl.source(), marker)) add(marker);
  }
}

absl::StatusOr<std::unique_ptr<ChatPrompt>> ChatPrompt::Load(const std::string& model_dir,
                                                             const std::string& template_file,
                                                             const Tokenizer& tokenizer) {
  absl::StatusOr<std::optional<chat::ModelChatTemplate>> own = OwnTemplate(model_dir);
  if (!own.ok()) return own.status();
  if (!template_file.empty()) {
    std::ifstream in(template_file, std::ios::binary);
    if (!in) {
      return absl::NotFoundError(absl::StrCat("--chat_template: cannot read '", template_file, "'"));
    }
    std::stringstream text;
    text << in.rdbuf();
    absl::StatusOr<chat::ChatTemplate> parsed = chat::ChatTemplate::Parse(text.str());
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--chat_template '", template_file, "': ", parsed.status().message()));
    }
    chat::ModelChatTemplate chosen{*std::move(parsed), "", ""};
    if (own->has_value()) {  // keep the model's bos/eos tokens
      chosen.bos_token = (*own)->bos_token;
      chosen.eos_token = (*own)->eos_token;
    }
    return std::unique_ptr<ChatPrompt>(new ChatPrompt(std::move(chosen), tokenizer));
  }
  if (!own->has_value()) return std::unique_ptr<ChatPrompt>();
  return std::unique_ptr<ChatPrompt>(new ChatPrompt(**std::move(own), tokenizer));
}

absl::StatusOr<RenderedChat> ChatPrompt::Render(const nlohmann::ordered_json& messages,
                                                const nlohmann::ordered_json& tools,
                                                bool add_generation_prompt,
                                                const nlohmann::ordered_json& extra) const {
  chat::ChatRenderInput input;
  input.messages = messages;
  input.tools = tools;
  input.add_generation_prompt = add_generation_prompt;
  input.bos_token = template_.bos_token;
  input.eos_token = template_.eos_token;
  input.extra_context = extra;
  absl::StatusOr<std::string> text = template_.tmpl.Render(input);
  if (!text.ok()) {
    if (text.status().code() == absl::StatusCode::kInvalidArgument) {
      return absl::InvalidArgumentError(
          absl::StrCat("messages: the model's chat template refused them: ", text.status().message()));
    }
    return text.status();
  }
  RenderedChat out;
  out.text = *std::move(text);
  // The template writes BOS and the turn markers itself: tokenizing must not add them again.
  out.token_ids = tokenizer_.Encode(out.text, /*add_special_tokens=*/false);
  out.stop_token_ids = end_of_turn_ids_;
  return out;
}

}  // namespace attnserve::server

// Chat templates: a model's Jinja chat template (Hugging Face `chat_template`) parsed once and
// rendered over OpenAI-style messages exactly as transformers' apply_chat_template renders it
// with jinja2 (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its own
// tojson, raise_exception and strftime_now). The interpreter covers what real chat templates
// use; a template using anything else is refused by Parse with the construct and line named.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "engine/chat/evaluator.h"
#include "nlohmann/json.hpp"

namespace attnserve::chat {

// What a template sees. Key order of JSON objects is kept (ordered_json): templates that print
// tool schemas with tojson print keys in the order given, as Python dicts do.
struct ChatRenderInput {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();  // [{"role","content",...}]
  nlohmann::ordered_json tools;          // null or an array of OpenAI-style tool definitions
  bool add_generation_prompt = true;
  std::string bos_token, eos_token;
  // Further variables (e.g. "enable_thinking", "documents", "date_string"); null or an object.
  // They override the variables above of the same name, as transformers' **kwargs do.
  nlohmann::ordered_json extra_context;
  // The time strftime_now() formats (local time zone); nullopt: the current time.
  std::optional<int64_t> now_unix_seconds;
};

class ChatTemplate {
 public:
  // InvalidArgument naming the unsupported construct or the syntax error, with its line:
  // "unsupported tag 'extends' at line 3", "unsupported filter 'wordwrap' at line 1";
  // ResourceExhausted for nesting past the parser's bounds (100 levels, AST depth 300).
  static absl::StatusOr<ChatTemplate> Parse(std::string source);

  // Immutable after Parse; Render is const and thread-safe. Errors: InvalidArgument whose
  // message is exactly raise_exception's message (the status carries kRaiseExceptionPayload),
  // or "<runtime error> at line N"; ResourceExhausted when a RenderLimits bound is hit
  // (steps, output bytes, macro depth, evaluation depth, nesting of namespace values).
  absl::StatusOr<std::string> Render(const ChatRenderInput& input,
                                     const RenderLimits& limits = RenderLimits()) const;

  const std::string& source() const { return *source_; }

 private:
  ChatTemplate(std::shared_ptr<const std::string> source, std::shared_ptr<const Body> body)
      : source_(std::move(source)), body_(std::move(body)) {}
  std::shared_ptr<const std::string> source_;
  std::shared_ptr<const Body> body_;
};

// The chat template of a Hugging Face model directory: tokenizer_config.json "chat_template"
// (a string, or a list of {"name", "template"} of which "default" is used), else a
// chat_template.jinja file beside it (as newer transformers writes), with the config's
// bos_token / eos_token (plain strings or {"content": ...} AddedToken objects; "" when absent).
// std::nullopt when the model has no template. Errors name the file and the field.
struct ModelChatTemplate {
  ChatTemplate tmpl;
  std::string bos_token, eos_token;
};
absl::StatusOr<std::optional<ModelChatTemplate>> LoadModelChatTemplate(const std::string& model_dir);

}  // namespace attnserve::chat

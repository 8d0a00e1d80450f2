// ChatTemplate: Parse / Render (see chat_template.h).
#include "engine/chat/chat_template.h"

#include <ctime>

#include "engine/chat/builtins.h"
#include "engine/chat/parser.h"
#include "engine/chat/status_macros.h"

namespace attnserve::chat {

absl::StatusOr<ChatTemplate> ChatTemplate::Parse(std::string source) {
  CHAT_ASSIGN_OR_RETURN(Body body, ParseTemplate(source));
  return ChatTemplate(std::make_shared<const std::string>(std::move(source)),
                      std::make_shared<const Body>(std::move(body)));
}

absl::StatusOr<std::string> ChatTemplate::Render(const ChatRenderInput& input,
                                                 const RenderLimits& limits) const {
  if (!input.extra_context.is_null() && !input.extra_context.is_object()) {
    return absl::InvalidArgumentError("chat template extra_context must be a JSON object");
  }
  // transformers: render(messages=, tools=, documents=, add_generation_prompt=,
  //                      **special_tokens_map, **kwargs) — tools and documents are always defined.
  auto globals = std::make_shared<Dict>();
  AddGlobals(*globals, input.now_unix_seconds.value_or(static_cast<int64_t>(std::time(nullptr))));
  globals->Set(Value::String("messages"), Value::FromJson(input.messages));
  globals->Set(Value::String("tools"), Value::FromJson(input.tools));
  globals->Set(Value::String("documents"), Value::None());
  globals->Set(Value::String("add_generation_prompt"), Value::Bool(input.add_generation_prompt));
  globals->Set(Value::String("bos_token"), Value::String(input.bos_token));
  globals->Set(Value::String("eos_token"), Value::String(input.eos_token));
  if (input.extra_context.is_object()) {
    for (const auto& [k, v] : input.extra_context.items()) {
      globals->Set(Value::String(k), Value::FromJson(v));
    }
  }
  Interpreter interp(limits, Value::MakeDict(std::move(globals)));
  return interp.Render(*body_);
}

}  // namespace attnserve::chat

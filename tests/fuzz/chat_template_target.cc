// Fuzz target: a Jinja chat template through chat::ChatTemplate::Parse, then Render over two
// fixed conversations (system + turns; tools with an assistant tool call and its result), with
// and without the generation prompt, under tighter RenderLimits than serving uses (so one input
// stays fast; the limits themselves are part of what is exercised).
#include <string>

#include "engine/chat/chat_template.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {
namespace {

const chat::ChatRenderInput& Conversation(int which) {
  static const chat::ChatRenderInput* inputs = [] {
    auto* in = new chat::ChatRenderInput[2];
    in[0].messages = nlohmann::ordered_json::parse(R"([
      {"role": "system", "content": "You are terse. \u00e9\u4f60\ud83d\ude00"},
      {"role": "user", "content": "Hi {{ x }} {% if %} <|im_end|>"},
      {"role": "assistant", "content": "  Hello!  "},
      {"role": "user", "content": ""}])");
    in[0].bos_token = "<s>";
    in[0].eos_token = "</s>";
    in[1].messages = nlohmann::ordered_json::parse(R"([
      {"role": "user", "content": "Weather in Zurich?"},
      {"role": "assistant", "content": "", "tool_calls": [{"id": "call1", "type": "function",
        "function": {"name": "get_weather", "arguments": {"location": "Zurich", "days": 2}}}]},
      {"role": "tool", "tool_call_id": "call1", "name": "get_weather", "content": "{\"t\": 3.5}"},
      {"role": "user", "content": "Thanks"}])");
    in[1].tools = nlohmann::ordered_json::parse(R"([{"type": "function", "function": {
      "name": "get_weather", "description": "Weather", "parameters": {"type": "object",
      "properties": {"location": {"type": "string"}, "days": {"type": "integer"}},
      "required": ["location"]}}}])");
    in[1].extra_context = nlohmann::ordered_json::parse(R"({"enable_thinking": false})");
    for (int i = 0; i < 2; ++i) in[i].now_unix_seconds = 1700000000;
    return in;
  }();
  return inputs[which];
}

}  // namespace

int FuzzChatTemplate(const uint8_t* data, size_t size) {
  absl::StatusOr<chat::ChatTemplate> tmpl =
      chat::ChatTemplate::Parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!Note("ChatTemplate::Parse", tmpl)) return 0;
  chat::RenderLimits limits;
  limits.max_steps = 20000;
  limits.max_output_bytes = 1 << 20;
  size_t sum = 0;
  for (int which = 0; which < 2; ++which) {
    chat::ChatRenderInput input = Conversation(which);
    for (bool generation_prompt : {true, false}) {
      input.add_generation_prompt = generation_prompt;
      absl::StatusOr<std::string> text = tmpl->Render(input, limits);
      Note("ChatTemplate::Render", text);
      sum += text.ok() ? text->size() : text.status().message().size();
    }
  }
  volatile size_t keep = sum;
  (void)keep;
  return 0;
}

}  // namespace attnserve::fuzz

// ChatPrompt: turns role/content messages into the prompt a chat model was trained on, with the
// model's own chat template (engine/chat), and names the tokens that end an assistant turn.
// Shared by the gRPC Generate `messages` field and the HTTP /v1/chat/completions endpoint, so
// both render identically. Immutable after Load; Render is thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/inference.pb.h"
#include "engine/chat/chat_template.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"

namespace attnserve::server {

struct RenderedChat {
  std::string text;                     // the template's output
  std::vector<int32_t> token_ids;       // text tokenized without adding special tokens
  std::vector<int32_t> stop_token_ids;  // end-of-turn tokens (see ChatPrompt::end_of_turn_ids)
};

// OpenAI chat messages as templates expect them: role one of system / developer (rendered as
// system) / user / assistant / tool; content a string, null, or a list of {"type": "text"} parts
// (joined with "\n"; other part types are refused: the models served take text only); an
// assistant's tool_calls[].function.arguments parsed from its JSON string into an object, as
// vLLM and transformers pass them. INVALID_ARGUMENT naming "messages[i]..." otherwise.
absl::StatusOr<nlohmann::ordered_json> ChatMessagesFromOpenAi(const nlohmann::ordered_json& messages);
// The same from the gRPC GenerateRequest.messages.
absl::StatusOr<nlohmann::ordered_json> ChatMessagesFromProto(
    const google::protobuf::RepeatedPtrField<v1::ChatMessage>& messages);

class ChatPrompt {
 public:
  // The template of `template_file` when not empty (a Jinja file, as vLLM's --chat_template),
  // else the model directory's own (tokenizer_config.json chat_template / chat_template.jinja).
  // nullptr when the model has none. Errors name the file and what is wrong (an unsupported
  // construct is refused here, at start-up). `tokenizer` must outlive the result.
  static absl::StatusOr<std::unique_ptr<ChatPrompt>> Load(const std::string& model_dir,
                                                          const std::string& template_file,
                                                          const Tokenizer& tokenizer);

  // `messages`: [{"role", "content" (string), ...}] as the template expects (OpenAI's shape);
  // `tools`: null or OpenAI tool definitions; `extra`: null or an object of further template
  // variables (vLLM's chat_template_kwargs). INVALID_ARGUMENT with the template's own message
  // when it refuses the conversation (raise_exception), "messages: ..." otherwise.
  absl::StatusOr<RenderedChat> Render(const nlohmann::ordered_json& messages,
                                      const nlohmann::ordered_json& tools,
                                      bool add_generation_prompt,
                                      const nlohmann::ordered_json& extra) const;

  // The eos token of tokenizer_config.json and the end-of-turn markers the template writes
  // (<|im_end|>, <|eot_id|>, <end_of_turn>, <|end|>, ...) that are single special tokens.
  const std::vector<int32_t>& end_of_turn_ids() const { return end_of_turn_ids_; }

 private:
  ChatPrompt(chat::ModelChatTemplate tmpl, const Tokenizer& tokenizer);

  chat::ModelChatTemplate template_;
  const Tokenizer& tokenizer_;
  std::vector<int32_t> end_of_turn_ids_;
};

}  // namespace attnserve::server

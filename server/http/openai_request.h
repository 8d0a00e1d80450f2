// Parsing of OpenAI request bodies (/v1/completions, /v1/chat/completions) into the gRPC API's
// GenerateRequest — one per prompt — so HTTP requests take the same conversion and validation
// path as gRPC ones (server/proto_convert.h, Engine::Validate). Only shape and type checks live
// here; every range check is the engine's. Fields follow OpenAI's API reference, plus vLLM's
// extra body fields and attnserve's own (docs/api.md lists them).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/inference.pb.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "server/chat_prompt.h"

namespace attnserve::server::http {

enum class Endpoint { kCompletions, kChatCompletions };

// What conversion needs of the server. `chat` may be null (the model has no chat template).
struct ParseContext {
  const Tokenizer* tokenizer = nullptr;
  const ChatPrompt* chat = nullptr;
  std::string served_model_name;
  uint32_t max_model_len = 0;  // prompt + generated tokens
};

struct OpenAiRequest {
  Endpoint endpoint = Endpoint::kCompletions;
  std::string model;                        // echoed in responses
  std::vector<v1::GenerateRequest> prompts;  // tokenized: prompt_token_ids set
  std::vector<std::string> prompt_texts;     // each prompt's text (echo)
  uint32_t n = 1;                            // choices per prompt (seed + i when seeded)
  bool stream = false;
  bool include_usage = false;                // stream_options.include_usage
  bool continuous_usage = false;             // stream_options.continuous_usage_stats (vLLM)
  bool echo = false;                         // completions: prepend the prompt
  bool logprobs = false;                     // return logprobs
  uint32_t top_logprobs = 0;                 // alternatives per token
  bool max_tokens_given = false;             // max_tokens / max_completion_tokens was sent
};

// `body` is the parsed JSON. Errors: INVALID_ARGUMENT naming the field (OpenAI's name),
// NOT_FOUND for a model that is not the served one, FAILED_PRECONDITION for chat without a
// template.
absl::StatusOr<OpenAiRequest> ParseOpenAiRequest(Endpoint endpoint, const nlohmann::ordered_json& body,
                                                 const ParseContext& context);

// The JSON body of a request: an object, or INVALID_ARGUMENT saying where parsing failed.
absl::StatusOr<nlohmann::ordered_json> ParseJsonBody(const std::string& body);

}  // namespace attnserve::server::http

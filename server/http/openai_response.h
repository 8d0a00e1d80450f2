// JSON bodies of OpenAI responses: completion and chat-completion objects, their streamed
// chunks (server-sent events) and logprobs in each endpoint's shape. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/request/request_types.h"
#include "engine/tokenizer/tokenizer.h"
#include "nlohmann/json.hpp"
#include "server/http/openai_request.h"

namespace attnserve::server::http {

using Json = nlohmann::ordered_json;

// What a response names: the request's id ("cmpl-..." / "chatcmpl-..."), creation time, model.
struct ResponseHeader {
  std::string id;
  int64_t created = 0;  // unix seconds
  std::string model;
  Endpoint endpoint = Endpoint::kCompletions;
};

// One choice's output so far (or one streamed delta of it).
struct ChoiceOutput {
  uint32_t index = 0;
  std::string text;
  std::vector<TokenLogprob> logprobs;  // one per generated token when logprobs were asked
  FinishReason finish = FinishReason::kNone;
  std::string stop_reason;
};

// "stop", "length", "abort" (cancelled), "error"; null while running.
Json FinishReasonJson(FinishReason reason);

// Logprobs of `tokens` in the endpoint's shape: completions {tokens, token_logprobs,
// top_logprobs, text_offset} with offsets from `text_offset`; chat {content: [{token, logprob,
// bytes, top_logprobs}]}. null when logprobs were not asked.
Json LogprobsJson(Endpoint endpoint, std::span<const TokenLogprob> tokens, bool asked,
                  const Tokenizer& tokenizer, int64_t* text_offset);

struct UsageCounts {
  uint64_t prompt_tokens = 0;
  uint64_t completion_tokens = 0;
};
Json UsageJson(const UsageCounts& usage);

// The non-streamed response (object "text_completion" / "chat.completion").
Json WholeResponse(const ResponseHeader& header, std::span<const ChoiceOutput> choices,
                   bool logprobs_asked, const UsageCounts& usage, const Tokenizer& tokenizer);

// One streamed chunk for one choice (object "text_completion" / "chat.completion.chunk"). For
// chat, `first` adds the assistant role to the delta. `usage`: null, or per-chunk usage.
Json ChunkResponse(const ResponseHeader& header, const ChoiceOutput& delta, bool first,
                   bool logprobs_asked, const Tokenizer& tokenizer, int64_t* text_offset,
                   const Json& usage);

// The final usage-only chunk of stream_options.include_usage (choices empty).
Json UsageChunk(const ResponseHeader& header, const UsageCounts& usage);

// "data: <json>\n\n", with invalid UTF-8 replaced (a token may hold part of a character).
std::string SseEvent(const Json& event);
// JSON text with invalid UTF-8 replaced.
std::string DumpJson(const Json& value);

}  // namespace attnserve::server::http

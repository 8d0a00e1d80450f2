// OpenAI response bodies (see openai_response.h).
#include "server/http/openai_response.h"

namespace attnserve::server::http {
namespace {

std::string TokenText(const Tokenizer& tokenizer, int32_t id) {
  const int32_t ids[1] = {id};
  return tokenizer.Decode(ids, /*skip_special_tokens=*/false);
}

Json Bytes(const std::string& text) {
  Json bytes = Json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}

const char* ObjectName(Endpoint endpoint, bool chunk) {
  if (endpoint == Endpoint::kCompletions) return "text_completion";
  return chunk ? "chat.completion.chunk" : "chat.completion";
}

Json Envelope(const ResponseHeader& header, bool chunk) {
  return Json{{"id", header.id},
              {"object", ObjectName(header.endpoint, chunk)},
              {"created", header.created},
              {"model", header.model}};
}

}  // namespace

Json FinishReasonJson(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return nullptr;
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "abort";
    case FinishReason::kError: return "error";
  }
  return nullptr;
}

Json LogprobsJson(Endpoint endpoint, std::span<const TokenLogprob> tokens, bool asked,
                  const Tokenizer& tokenizer, int64_t* text_offset) {
  if (!asked) return nullptr;
  if (endpoint == Endpoint::kChatCompletions) {
    Json content = Json::array();
    for (const TokenLogprob& t : tokens) {
      const std::string text = TokenText(tokenizer, t.token_id);
      Json top = Json::array();
      for (const TopLogprob& alt : t.top) {
        const std::string alt_text = TokenText(tokenizer, alt.token_id);
        top.push_back({{"token", alt_text}, {"logprob", alt.logprob}, {"bytes", Bytes(alt_text)}});
      }
      content.push_back({{"token", text}, {"logprob", t.logprob}, {"bytes", Bytes(text)},
                         {"top_logprobs", std::move(top)}});
    }
    return Json{{"content", std::move(content)}};
  }
  Json token_strs = Json::array(), token_logprobs = Json::array(), top = Json::array(),
       offsets = Json::array();
  for (const TokenLogprob& t : tokens) {
    const std::string text = TokenText(tokenizer, t.token_id);
    token_strs.push_back(text);
    token_logprobs.push_back(t.logprob);
    offsets.push_back(*text_offset);
    *text_offset += static_cast<int64_t>(text.size());
    Json alternatives = Json::object();
    for (const TopLogprob& alt : t.top) alternatives[TokenText(tokenizer, alt.token_id)] = alt.logprob;
    top.push_back(std::move(alternatives));
  }
  return Json{{"tokens", std::move(token_strs)},
              {"token_logprobs", std::move(token_logprobs)},
              {"top_logprobs", std::move(top)},
              {"text_offset", std::move(offsets)}};
}

Json UsageJson(const UsageCounts& usage) {
  return Json{{"prompt_tokens", usage.prompt_tokens},
              {"completion_tokens", usage.completion_tokens},
              {"total_tokens", usage.prompt_tokens + usage.completion_tokens}};
}

Json WholeResponse(const ResponseHeader& header, std::span<const ChoiceOutput> choices,
                   bool logprobs_asked, const UsageCounts& usage, const Tokenizer& tokenizer) {
  Json out = Envelope(header, /*chunk=*/false);
  Json list = Json::array();
  for (const ChoiceOutput& c : choices) {
    int64_t offset = 0;
    Json choice = {{"index", c.index}};
    if (header.endpoint == Endpoint::kCompletions) {
      choice["text"] = c.text;
    } else {
      choice["message"] = {{"role", "assistant"}, {"content", c.text}};
    }
    choice["logprobs"] = LogprobsJson(header.endpoint, c.logprobs, logprobs_asked, tokenizer, &offset);
    choice["finish_reason"] = FinishReasonJson(c.finish);
    choice["stop_reason"] = c.stop_reason.empty() ? Json() : Json(c.stop_reason);
    list.push_back(std::move(choice));
  }
  out["choices"] = std::move(list);
  out["usage"] = UsageJson(usage);
  return out;
}

Json ChunkResponse(const ResponseHeader& header, const ChoiceOutput& delta, bool first,
                   bool logprobs_asked, const Tokenizer& tokenizer, int64_t* text_offset,
                   const Json& usage) {
  Json out = Envelope(header, /*chunk=*/true);
  Json choice = {{"index", delta.index}};
  if (header.endpoint == Endpoint::kCompletions) {
    choice["text"] = delta.text;
  } else {
    Json d = Json::object();
    if (first) d["role"] = "assistant";
    if (first || !delta.text.empty()) d["content"] = delta.text;
    choice["delta"] = std::move(d);
  }
  choice["logprobs"] = LogprobsJson(header.endpoint, delta.logprobs, logprobs_asked, tokenizer, text_offset);
  choice["finish_reason"] = FinishReasonJson(delta.finish);
  if (delta.finish != FinishReason::kNone) {
    choice["stop_reason"] = delta.stop_reason.empty() ? Json() : Json(delta.stop_reason);
  }
  out["choices"] = Json::array({std::move(choice)});
  if (!usage.is_null()) out["usage"] = usage;
  return out;
}

Json UsageChunk(const ResponseHeader& header, const UsageCounts& usage) {
  Json out = Envelope(header, /*chunk=*/true);
  out["choices"] = Json::array();
  out["usage"] = UsageJson(usage);
  return out;
}

std::string DumpJson(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string SseEvent(const Json& event) { return "data: " + DumpJson(event) + "\n\n"; }

}  // namespace attnserve::server::http

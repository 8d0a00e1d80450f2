// OpenAI request bodies -> GenerateRequest (see openai_request.h).
#include "server/http/openai_request.h"

#include <cmath>
#include <limits>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace attnserve::server::http {
namespace {

using Json = nlohmann::ordered_json;

constexpr uint32_t kMaxChoices = 128;  // prompts x n per request
constexpr uint32_t kMaxTopLogprobs = 20;

absl::Status Bad(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(field, " ", what));
}

// The value of `field`, or nullptr when absent or null (OpenAI: null = the default).
const Json* Find(const Json& body, const char* field) {
  auto it = body.find(field);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

absl::StatusOr<std::optional<double>> Number(const Json& body, const char* field) {
  const Json* v = Find(body, field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) return Bad(field, "must be a number");
  return v->get<double>();
}

absl::StatusOr<std::optional<int64_t>> Integer(const Json& body, const char* field) {
  const Json* v = Find(body, field);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float() && std::floor(v->get<double>()) == v->get<double>() &&
      std::abs(v->get<double>()) < 9e15) {
    return static_cast<int64_t>(v->get<double>());
  }
  return Bad(field, "must be an integer");
}

absl::StatusOr<std::optional<bool>> Boolean(const Json& body, const char* field) {
  const Json* v = Find(body, field);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) return Bad(field, "must be true or false");
  return v->get<bool>();
}

#define ASSIGN_OR_RETURN_FIELD(lhs, expr) \
  auto lhs##_or = (expr);                 \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  const auto lhs = *lhs##_or

// A non-negative integer that fits `limit`.
absl::StatusOr<std::optional<uint32_t>> Count(const Json& body, const char* field, int64_t min,
                                              int64_t max) {
  ASSIGN_OR_RETURN_FIELD(v, Integer(body, field));
  if (!v) return std::nullopt;
  if (*v < min || *v > max) return Bad(field, absl::StrCat("must be in [", min, ", ", max, "], got ", *v));
  return static_cast<uint32_t>(*v);
}

// A proto message from its JSON form (field names as in inference.proto), e.g. "attention".
template <typename Message>
absl::Status ProtoField(const Json& body, const char* field, Message* out) {
  const Json* v = Find(body, field);
  if (v == nullptr) return absl::OkStatus();
  if (v->is_string()) {  // "sliding_window" is shorthand for {"backend": ...} / {"kind": ...}
    Json wrapped = {{std::is_same_v<Message, v1::AttentionConfig> ? "backend" : "kind", *v}};
    return ProtoField(Json{{field, wrapped}}, field, out);
  }
  if (!v->is_object()) return Bad(field, "must be an object (or a name)");
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  const auto status = google::protobuf::util::JsonStringToMessage(v->dump(), out, options);
  if (!status.ok()) return Bad(field, absl::StrCat("is malformed: ", std::string(status.message().data(), status.message().size())));
  return absl::OkStatus();
}

absl::Status SetSampling(const Json& body, v1::GenerateRequest* r) {
  v1::SamplingParams* s = r->mutable_sampling();
  ASSIGN_OR_RETURN_FIELD(temperature, Number(body, "temperature"));
  if (temperature) s->set_temperature(static_cast<float>(*temperature));
  ASSIGN_OR_RETURN_FIELD(top_p, Number(body, "top_p"));
  if (top_p) s->set_top_p(static_cast<float>(*top_p));
  ASSIGN_OR_RETURN_FIELD(top_k, Integer(body, "top_k"));
  if (top_k) {
    if (*top_k < -1 || *top_k > std::numeric_limits<int32_t>::max()) return Bad("top_k", "must be -1, 0 or a positive integer");
    s->set_top_k(static_cast<int32_t>(*top_k));
  }
  ASSIGN_OR_RETURN_FIELD(min_p, Number(body, "min_p"));
  if (min_p) s->set_min_p(static_cast<float>(*min_p));
  ASSIGN_OR_RETURN_FIELD(repetition_penalty, Number(body, "repetition_penalty"));
  if (repetition_penalty) s->set_repetition_penalty(static_cast<float>(*repetition_penalty));
  ASSIGN_OR_RETURN_FIELD(presence, Number(body, "presence_penalty"));
  if (presence) s->set_presence_penalty(static_cast<float>(*presence));
  ASSIGN_OR_RETURN_FIELD(frequency, Number(body, "frequency_penalty"));
  if (frequency) s->set_frequency_penalty(static_cast<float>(*frequency));
  ASSIGN_OR_RETURN_FIELD(seed, Integer(body, "seed"));
  if (seed) s->set_seed(static_cast<uint64_t>(*seed));
  if (const Json* bias = Find(body, "logit_bias")) {
    if (!bias->is_object()) return Bad("logit_bias", "must be an object of token id -> bias");
    for (const auto& [key, value] : bias->items()) {
      int32_t id = 0;
      if (!absl::SimpleAtoi(key, &id)) return Bad("logit_bias", absl::StrCat("key '", key, "' is not a token id"));
      if (!value.is_number()) return Bad("logit_bias", absl::StrCat("[", key, "] must be a number"));
      (*s->mutable_logit_bias())[id] = value.get<float>();
    }
  }
  return absl::OkStatus();
}

// Fields both endpoints share (everything but the prompt).
absl::Status SetCommon(const Json& body, Endpoint endpoint, v1::GenerateRequest* r,
                       OpenAiRequest* out) {
  if (absl::Status s = SetSampling(body, r); !s.ok()) return s;
  if (const Json* stop = Find(body, "stop")) {
    if (stop->is_string()) {
      r->add_stop(stop->get<std::string>());
    } else if (stop->is_array()) {
      for (const Json& s : *stop) {
        if (!s.is_string()) return Bad("stop", "must be a string or a list of strings");
        r->add_stop(s.get<std::string>());
      }
    } else {
      return Bad("stop", "must be a string or a list of strings");
    }
  }
  if (const Json* ids = Find(body, "stop_token_ids")) {
    if (!ids->is_array()) return Bad("stop_token_ids", "must be a list of token ids");
    for (const Json& id : *ids) {
      if (!id.is_number_integer()) return Bad("stop_token_ids", "must be a list of token ids");
      r->add_stop_token_ids(id.get<int32_t>());
    }
  }
  ASSIGN_OR_RETURN_FIELD(ignore_eos, Boolean(body, "ignore_eos"));
  r->set_ignore_eos(ignore_eos.value_or(false));
  ASSIGN_OR_RETURN_FIELD(skip_special, Boolean(body, "skip_special_tokens"));
  if (skip_special) r->set_skip_special_tokens(*skip_special);
  ASSIGN_OR_RETURN_FIELD(priority, Integer(body, "priority"));
  if (priority) r->set_priority(static_cast<int32_t>(*priority));
  if (absl::Status s = ProtoField(body, "attention", r->mutable_attention()); !s.ok()) return s;
  if (absl::Status s = ProtoField(body, "context_policy", r->mutable_context_policy()); !s.ok()) return s;

  // Logprobs: completions take an integer (alternatives); chat a flag plus top_logprobs.
  if (endpoint == Endpoint::kCompletions) {
    ASSIGN_OR_RETURN_FIELD(logprobs, Count(body, "logprobs", 0, kMaxTopLogprobs));
    out->logprobs = logprobs.has_value();
    out->top_logprobs = logprobs.value_or(0);
  } else {
    ASSIGN_OR_RETURN_FIELD(logprobs, Boolean(body, "logprobs"));
    ASSIGN_OR_RETURN_FIELD(top, Count(body, "top_logprobs", 0, kMaxTopLogprobs));
    out->logprobs = logprobs.value_or(false);
    if (top && *top > 0 && !out->logprobs) return Bad("top_logprobs", "requires logprobs: true");
    out->top_logprobs = top.value_or(0);
  }
  r->set_logprobs(out->logprobs);
  r->set_top_logprobs(out->top_logprobs);

  ASSIGN_OR_RETURN_FIELD(n, Count(body, "n", 1, kMaxChoices));
  out->n = n.value_or(1);
  ASSIGN_OR_RETURN_FIELD(best_of, Integer(body, "best_of"));
  if (best_of && *best_of != out->n) return Bad("best_of", "other than n is not supported");
  ASSIGN_OR_RETURN_FIELD(stream, Boolean(body, "stream"));
  out->stream = stream.value_or(false);
  if (const Json* options = Find(body, "stream_options")) {
    if (!out->stream) return Bad("stream_options", "is only allowed with stream: true");
    if (!options->is_object()) return Bad("stream_options", "must be an object");
    ASSIGN_OR_RETURN_FIELD(usage, Boolean(*options, "include_usage"));
    ASSIGN_OR_RETURN_FIELD(continuous, Boolean(*options, "continuous_usage_stats"));
    out->include_usage = usage.value_or(false);
    out->continuous_usage = continuous.value_or(false);
  }
  if (const Json* format = Find(body, "response_format")) {
    const std::string type = format->is_object() && format->contains("type") && (*format)["type"].is_string()
                                 ? (*format)["type"].get<std::string>() : "";
    if (type != "text") {
      return Bad("response_format", absl::StrCat("type '", type, "' is not supported: attnserve has no "
                                                 "structured (JSON-constrained) output yet; use \"text\""));
    }
  }
  ASSIGN_OR_RETURN_FIELD(min_tokens, Integer(body, "min_tokens"));
  if (min_tokens && *min_tokens > 0) return Bad("min_tokens", "is not supported yet");
  ASSIGN_OR_RETURN_FIELD(include_stop, Boolean(body, "include_stop_str_in_output"));
  if (include_stop.value_or(false)) {
    return Bad("include_stop_str_in_output", "is not supported: stop strings are never included");
  }
  if (const Json* user = Find(body, "user"); user != nullptr && !user->is_string()) {
    return Bad("user", "must be a string");
  }
  return absl::OkStatus();
}

// max_tokens (or chat's max_completion_tokens); chat's default fills the context.
absl::Status SetMaxTokens(const Json& body, Endpoint endpoint, uint32_t max_model_len,
                          v1::GenerateRequest* r) {
  ASSIGN_OR_RETURN_FIELD(max_tokens, Count(body, "max_tokens", 0, std::numeric_limits<uint32_t>::max()));
  ASSIGN_OR_RETURN_FIELD(max_completion, Count(body, "max_completion_tokens", 0,
                                               std::numeric_limits<uint32_t>::max()));
  if (max_completion) {
    r->set_max_tokens(*max_completion);
  } else if (max_tokens) {
    r->set_max_tokens(*max_tokens);
  } else if (endpoint == Endpoint::kChatCompletions) {
    const int64_t room = int64_t{max_model_len} - r->prompt_token_ids_size();
    r->set_max_tokens(static_cast<uint32_t>(std::max<int64_t>(room, 1)));
  } else {
    r->set_max_tokens(16);  // OpenAI's default for completions
  }
  return absl::OkStatus();
}

// Completions' prompt: a string, a list of strings, a list of ids or a list of id lists.
absl::Status CompletionPrompts(const Json& body, const ParseContext& context, bool add_special,
                               std::vector<std::vector<int32_t>>* ids, std::vector<std::string>* texts) {
  const Json* prompt = Find(body, "prompt");
  if (prompt == nullptr) return Bad("prompt", "is required");
  auto add_text = [&](const std::string& text) {
    ids->push_back(context.tokenizer->Encode(text, add_special));
    texts->push_back(text);
  };
  auto add_ids = [&](const Json& list) -> absl::Status {
    std::vector<int32_t> one;
    for (const Json& id : list) {
      if (!id.is_number_integer()) return Bad("prompt", "token lists must hold integers");
      const int64_t v = id.get<int64_t>();
      if (v < 0 || v >= context.tokenizer->vocab_size()) {
        return Bad("prompt", absl::StrCat("token id ", v, " is outside the vocabulary [0, ",
                                          context.tokenizer->vocab_size(), ")"));
      }
      one.push_back(static_cast<int32_t>(v));
    }
    texts->push_back(context.tokenizer->Decode(one, /*skip_special_tokens=*/false));
    ids->push_back(std::move(one));
    return absl::OkStatus();
  };
  if (prompt->is_string()) {
    add_text(prompt->get<std::string>());
    return absl::OkStatus();
  }
  if (!prompt->is_array() || prompt->empty()) {
    return Bad("prompt", "must be a string, a list of strings, a list of token ids or a list of such lists");
  }
  if ((*prompt)[0].is_number()) return add_ids(*prompt);
  for (const Json& item : *prompt) {
    if (item.is_string()) {
      add_text(item.get<std::string>());
    } else if (item.is_array()) {
      if (absl::Status s = add_ids(item); !s.ok()) return s;
    } else {
      return Bad("prompt", "list items must be strings or token id lists");
    }
  }
  return absl::OkStatus();
}

absl::Status ChatPromptIds(const Json& body, const ParseContext& context,
                           std::vector<std::vector<int32_t>>* ids, std::vector<std::string>* texts,
                           std::vector<int32_t>* stop_ids) {
  if (context.chat == nullptr) {
    return absl::FailedPreconditionError(
        "messages: this model has no chat template (tokenizer_config.json chat_template or chat_template.jinja); "
        "use /v1/completions, or start the server with --chat_template=FILE");
  }
  const Json* messages = Find(body, "messages");
  if (messages == nullptr) return Bad("messages", "is required");
  absl::StatusOr<Json> normalized = ChatMessagesFromOpenAi(*messages);
  if (!normalized.ok()) return normalized.status();
  Json tools;
  if (const Json* t = Find(body, "tools")) {
    if (!t->is_array()) return Bad("tools", "must be a list of tool definitions");
    tools = *t;
  }
  if (const Json* choice = Find(body, "tool_choice")) {
    if (!(choice->is_string() && (*choice == "none" || *choice == "auto"))) {
      return Bad("tool_choice", "other than \"auto\" or \"none\" is not supported: attnserve renders "
                                "tools into the prompt but does not parse or force tool calls yet");
    }
  }
  if (Find(body, "functions") != nullptr) return Bad("functions", "is deprecated by OpenAI; use tools");
  ASSIGN_OR_RETURN_FIELD(add_generation_prompt, Boolean(body, "add_generation_prompt"));
  ASSIGN_OR_RETURN_FIELD(continue_final, Boolean(body, "continue_final_message"));
  if (continue_final.value_or(false)) return Bad("continue_final_message", "is not supported yet");
  Json extra;
  if (const Json* kwargs = Find(body, "chat_template_kwargs")) {
    if (!kwargs->is_object()) return Bad("chat_template_kwargs", "must be an object");
    extra = *kwargs;
  }
  absl::StatusOr<RenderedChat> rendered =
      context.chat->Render(*normalized, tools, add_generation_prompt.value_or(true), extra);
  if (!rendered.ok()) return rendered.status();
  ids->push_back(std::move(rendered->token_ids));
  texts->push_back(std::move(rendered->text));
  *stop_ids = std::move(rendered->stop_token_ids);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Json> ParseJsonBody(const std::string& body) {
  Json parsed = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    try {
      Json again = Json::parse(body);
    } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
      return absl::InvalidArgumentError(absl::StrCat("the request body is not valid JSON: ", e.what()));
    }
    return absl::InvalidArgumentError("the request body is not valid JSON");
  }
  if (!parsed.is_object()) return absl::InvalidArgumentError("the request body must be a JSON object");
  return parsed;
}

absl::StatusOr<OpenAiRequest> ParseOpenAiRequest(Endpoint endpoint, const Json& body,
                                                 const ParseContext& context) {
  OpenAiRequest out;
  out.endpoint = endpoint;
  out.model = context.served_model_name;
  if (const Json* model = Find(body, "model")) {
    if (!model->is_string()) return Bad("model", "must be a string");
    if (model->get<std::string>() != context.served_model_name) {
      return absl::NotFoundError(absl::StrCat("model '", model->get<std::string>(), "' does not exist; this "
                                              "server serves '", context.served_model_name, "' (GET /v1/models)"));
    }
  }
  v1::GenerateRequest base;
  if (absl::Status s = SetCommon(body, endpoint, &base, &out); !s.ok()) return s;

  std::vector<std::vector<int32_t>> ids;
  std::vector<int32_t> stop_ids;
  if (endpoint == Endpoint::kCompletions) {
    if (const Json* suffix = Find(body, "suffix");
        suffix != nullptr && !(suffix->is_string() && suffix->get<std::string>().empty())) {
      return Bad("suffix", "is not supported: attnserve has no fill-in-the-middle (insert) mode");
    }
    ASSIGN_OR_RETURN_FIELD(echo, Boolean(body, "echo"));
    out.echo = echo.value_or(false);
    if (out.echo && out.logprobs) {
      return Bad("echo", "with logprobs (prompt logprobs) is not supported yet; use the gRPC Score RPC");
    }
    ASSIGN_OR_RETURN_FIELD(add_special, Boolean(body, "add_special_tokens"));
    if (absl::Status s = CompletionPrompts(body, context, add_special.value_or(true), &ids, &out.prompt_texts);
        !s.ok()) {
      return s;
    }
  } else {
    if (absl::Status s = ChatPromptIds(body, context, &ids, &out.prompt_texts, &stop_ids); !s.ok()) return s;
  }
  if (ids.size() * out.n > kMaxChoices) {
    return Bad("n", absl::StrCat("x prompts = ", ids.size() * out.n, " choices; at most ", kMaxChoices,
                                 " per request"));
  }
  for (const char* field : {"max_tokens", "max_completion_tokens"}) {
    if (const Json* v = Find(body, field); v != nullptr && !v->is_null()) out.max_tokens_given = true;
  }
  for (std::vector<int32_t>& prompt_ids : ids) {
    v1::GenerateRequest r = base;
    r.mutable_prompt_token_ids()->Add(prompt_ids.begin(), prompt_ids.end());
    for (int32_t id : stop_ids) r.add_stop_token_ids(id);
    if (absl::Status s = SetMaxTokens(body, endpoint, context.max_model_len, &r); !s.ok()) return s;
    out.prompts.push_back(std::move(r));
  }
  return out;
}

}  // namespace attnserve::server::http

// The rows of the bad-input catalogue (see bad_input_catalogue.h): gRPC calls, HTTP requests and
// start-ups. Each row names one input and the answer the daemon gives it today; the runner in
// bad_input_catalogue_test.cc checks every one.
#include <filesystem>
#include <fstream>
#include <future>
#include <limits>

#include "nlohmann/json.hpp"
#include "tests/server/bad_input_catalogue.h"
#include "tests/server/daemon_fixture.h"

#ifndef ATTNSERVE_GOLDEN_MODELS_DIR
#error "ATTNSERVE_GOLDEN_MODELS_DIR must name tests/golden/models"
#endif

namespace attnserve::testing::catalogue {
namespace {

namespace fs = std::filesystem;
using grpc::StatusCode;

constexpr auto kCallTimeout = std::chrono::seconds(30);

// --- gRPC calls ----------------------------------------------------------------------------------

using Mutation = std::function<void(v1::GenerateRequest&, const v1::ModelInfo&)>;

// Generate with a valid greedy request changed by `mutate`.
std::function<GrpcOutcome(GrpcCallContext&)> GenerateWith(Mutation mutate) {
  return [mutate = std::move(mutate)](GrpcCallContext& c) {
    v1::GenerateRequest request = GreedyRequest("A valid prompt", 4);
    mutate(request, c.info);
    const GenerateResult result = Generate(c.stub, request, kCallTimeout);
    return GrpcOutcome{result.status, static_cast<int>(result.responses.size())};
  };
}

std::function<GrpcOutcome(GrpcCallContext&)> ScoreWith(
    std::function<void(v1::ScoreRequest&, const v1::ModelInfo&)> fill) {
  return [fill = std::move(fill)](GrpcCallContext& c) {
    v1::ScoreRequest request;
    fill(request, c.info);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::ScoreResponse response;
    const grpc::Status status = c.stub.Score(&context, request, &response);
    return GrpcOutcome{status, response.token_logprobs_size() > 0 ? 1 : 0};
  };
}

// Detokenize of `ids`, where kVocab stands for the model's vocab_size.
constexpr int32_t kVocab = std::numeric_limits<int32_t>::min();
std::function<GrpcOutcome(GrpcCallContext&)> DetokenizeIds(std::vector<int32_t> ids) {
  return [ids = std::move(ids)](GrpcCallContext& c) {
    v1::DetokenizeRequest request;
    for (int32_t id : ids) request.add_token_ids(id == kVocab ? static_cast<int32_t>(c.info.vocab_size()) : id);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
    v1::DetokenizeResponse response;
    const grpc::Status status = c.stub.Detokenize(&context, request, &response);
    return GrpcOutcome{status, response.text().empty() ? 0 : 1};
  };
}

std::function<GrpcOutcome(GrpcCallContext&)> RawCall(std::string method, std::string bytes) {
  return [method = std::move(method), bytes = std::move(bytes)](GrpcCallContext& c) {
    return RawUnaryCall(c.generic, method, bytes);
  };
}

v1::ChatMessage* AddMessage(v1::GenerateRequest& r, const std::string& role, const std::string& content) {
  r.clear_prompt();
  v1::ChatMessage* m = r.add_messages();
  m->set_role(role);
  m->set_content(content);
  return m;
}

// prompt_token_ids of `n` ordinary tokens.
void SetPromptIds(v1::GenerateRequest& r, uint32_t n) {
  r.clear_prompt();
  for (uint32_t i = 0; i < n; ++i) r.add_prompt_token_ids(5);
}

const char kGenerate[] = "/attnserve.v1.Inference/Generate";

// --- start-ups -----------------------------------------------------------------------------------

// A copy of the default model under `scratch`; returns its directory.
std::string CopyModel(const std::string& scratch) {
  const fs::path dir = fs::path(scratch) / "model";
  fs::copy(DefaultModelDir(), dir, fs::copy_options::recursive);
  return dir.string();
}

void WriteFile(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

// config.json of a model copy changed by `edit`.
std::function<std::vector<std::string>(const std::string&)> EditedConfig(
    std::function<void(nlohmann::json&)> edit) {
  return [edit = std::move(edit)](const std::string& scratch) {
    const std::string model = CopyModel(scratch);
    const fs::path path = fs::path(model) / "config.json";
    nlohmann::json config = nlohmann::json::parse(std::ifstream(path));
    edit(config);
    WriteFile(path, config.dump(2));
    return std::vector<std::string>{"--model=" + model};
  };
}

// The default model with one extra flag.
std::function<std::vector<std::string>(const std::string&)> Flag(std::string flag) {
  return [flag = std::move(flag)](const std::string&) {
    return std::vector<std::string>{"--model=" + DefaultModelDir(), flag};
  };
}

// A small GGUF model of the golden set (tests/golden/gguf_models).
fs::path GoldenGguf(const std::string& name) {
  return fs::path(ATTNSERVE_GOLDEN_MODELS_DIR).parent_path() / "gguf_models" / name;
}

// A copy of a golden GGUF file under `scratch`, changed by `damage`.
std::function<std::vector<std::string>(const std::string&)> DamagedGguf(
    std::function<void(const fs::path&)> damage) {
  return [damage = std::move(damage)](const std::string& scratch) {
    const fs::path copy = fs::path(scratch) / "broken.gguf";
    fs::copy_file(GoldenGguf("llama_gqa_q8_0.gguf"), copy);
    damage(copy);
    return std::vector<std::string>{"--model=" + copy.string()};
  };
}

}  // namespace

GrpcOutcome RawUnaryCall(grpc::GenericStub& stub, const std::string& method, const std::string& bytes) {
  grpc::Slice slice(bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();
  return GrpcOutcome{status, response.Length() > 0 ? 1 : 0};
}

const std::vector<GrpcRow>& GrpcRows() {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  static const std::vector<GrpcRow> rows = {
      // Sampling parameters (validation_test.cc covers temperature < 0 and top_p outside (0, 1]).
      {"TemperatureNaN", "Generate `sampling.temperature = NaN`", Daemon::kDefault,
       GenerateWith([nan](auto& r, auto&) { r.mutable_sampling()->set_temperature(nan); }),
       StatusCode::INVALID_ARGUMENT, "sampling.temperature"},
      {"TemperatureInfinite", "Generate `sampling.temperature = +inf`", Daemon::kDefault,
       GenerateWith([inf](auto& r, auto&) { r.mutable_sampling()->set_temperature(inf); }),
       StatusCode::INVALID_ARGUMENT, "sampling.temperature"},
      {"TopKBelowMinusOne", "Generate `sampling.top_k = -2`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_sampling()->set_top_k(-2); }),
       StatusCode::INVALID_ARGUMENT, "sampling.top_k"},
      {"MinPAboveOne", "Generate `sampling.min_p = 1.5`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_sampling()->set_min_p(1.5f); }),
       StatusCode::INVALID_ARGUMENT, "sampling.min_p"},
      {"RepetitionPenaltyZero", "Generate `sampling.repetition_penalty = 0`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_sampling()->set_repetition_penalty(0); }),
       StatusCode::INVALID_ARGUMENT, "sampling.repetition_penalty"},
      {"PresencePenaltyAboveTwo", "Generate `sampling.presence_penalty = 2.5`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_sampling()->set_presence_penalty(2.5f); }),
       StatusCode::INVALID_ARGUMENT, "sampling.presence_penalty"},
      {"FrequencyPenaltyBelowMinusTwo", "Generate `sampling.frequency_penalty = -3`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_sampling()->set_frequency_penalty(-3); }),
       StatusCode::INVALID_ARGUMENT, "sampling.frequency_penalty"},
      {"LogitBiasTokenOutsideVocab", "Generate `sampling.logit_bias = {vocab_size: 1}`", Daemon::kDefault,
       GenerateWith([](auto& r, auto& info) {
         (*r.mutable_sampling()->mutable_logit_bias())[static_cast<int32_t>(info.vocab_size())] = 1;
       }),
       StatusCode::INVALID_ARGUMENT, "sampling.logit_bias: token id"},
      {"LogitBiasAboveHundred", "Generate `sampling.logit_bias = {5: 150}`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { (*r.mutable_sampling()->mutable_logit_bias())[5] = 150; }),
       StatusCode::INVALID_ARGUMENT, "sampling.logit_bias[5]"},
      // Lengths (validation_test.cc covers max_tokens 0 and prompt + max_tokens = context).
      {"PromptLongerThanContext", "Generate with `max_context + 1` prompt tokens, `max_tokens = 1`",
       Daemon::kDefault,
       GenerateWith([](auto& r, auto& info) { SetPromptIds(r, info.max_context() + 1); }),
       StatusCode::INVALID_ARGUMENT, "maximum context length"},
      {"MaxTokensAtUint32Max", "Generate `max_tokens = 4294967295`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.set_max_tokens(std::numeric_limits<uint32_t>::max()); }),
       StatusCode::INVALID_ARGUMENT, "max_tokens (4294967295)"},
      {"TopLogprobsAtUint32Max", "Generate `top_logprobs = 4294967295`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.set_top_logprobs(std::numeric_limits<uint32_t>::max()); }),
       StatusCode::INVALID_ARGUMENT, "top_logprobs must be <= 20"},
      // Attention (validation_test.cc covers an unknown backend and several out-of-range values).
      {"AttentionParametersWithoutBackend", "Generate `attention = {window: 64}` (no backend)",
       Daemon::kDefault, GenerateWith([](auto& r, auto&) { r.mutable_attention()->set_window(64); }),
       StatusCode::INVALID_ARGUMENT, "attention.backend is required"},
      {"AttentionFullEveryZero", "Generate `attention = {backend: sliding_window, full_every: 0}`",
       Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         r.mutable_attention()->set_backend("sliding_window");
         r.mutable_attention()->set_full_every(0);
       }),
       StatusCode::INVALID_ARGUMENT, "attention.full_every"},
      {"BigBirdBlockSizeZero", "Generate `attention = {backend: bigbird, block_size: 0}`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         r.mutable_attention()->set_backend("bigbird");
         r.mutable_attention()->set_block_size(0);
       }),
       StatusCode::INVALID_ARGUMENT, "attention.block_size"},
      {"QuestTopKBlocksNegative", "Generate `attention = {backend: quest, top_k_blocks: -1}`",
       Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         r.mutable_attention()->set_backend("quest");
         r.mutable_attention()->set_top_k_blocks(-1);
       }),
       StatusCode::INVALID_ARGUMENT, "attention.top_k_blocks"},
      {"LongformerGlobalPositionOutsidePrompt",
       "Generate `attention = {backend: longformer, global_positions: [500]}` on a 4-token prompt",
       Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         r.mutable_attention()->set_backend("longformer");
         r.mutable_attention()->add_global_positions(500);
       }),
       StatusCode::INVALID_ARGUMENT, "attention.global_positions"},
      // Context policies.
      {"UnknownContextPolicyKind", "Generate `context_policy = {kind: warp}`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_context_policy()->set_kind("warp"); }),
       StatusCode::INVALID_ARGUMENT, "context_policy.kind \"warp\" is unknown"},
      {"AlibiPolicyOnRopeModel", "Generate `context_policy = {kind: alibi}` (a RoPE model)", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_context_policy()->set_kind("alibi"); }),
       StatusCode::INVALID_ARGUMENT, "context_policy.kind"},
      {"YarnWithoutFactor", "Generate `context_policy = {kind: yarn}` (no factor)", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) { r.mutable_context_policy()->set_kind("yarn"); }),
       StatusCode::INVALID_ARGUMENT, "context_policy.factor is required"},
      {"LinearFactorNegative", "Generate `context_policy = {kind: linear, factor: -2}`", Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         r.mutable_context_policy()->set_kind("linear");
         r.mutable_context_policy()->set_factor(-2);
       }),
       StatusCode::INVALID_ARGUMENT, "context_policy.factor must be in [1, 1024]"},
      {"ContextPolicyFieldOfAnotherKind", "Generate `context_policy = {kind: linear, factor: 2, beta_fast: 8}`",
       Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         r.mutable_context_policy()->set_kind("linear");
         r.mutable_context_policy()->set_factor(2);
         r.mutable_context_policy()->set_beta_fast(8);
       }),
       StatusCode::INVALID_ARGUMENT, "context_policy.beta_fast does not apply"},
      {"LongRopeFactorListsOfWrongLength",
       "Generate `context_policy = {kind: longrope, factor: 2, short_factor: [1, 1], long_factor: [1, 1]}`",
       Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         v1::ContextPolicy* p = r.mutable_context_policy();
         p->set_kind("longrope");
         p->set_factor(2);
         for (int i = 0; i < 2; ++i) {
           p->add_short_factor(1);
           p->add_long_factor(1);
         }
       }),
       StatusCode::INVALID_ARGUMENT, "\"short_factor\" must have rotary_dim/2"},
      {"SinksPolicyWithAttention",
       "Generate `context_policy = {kind: sinks}` with `attention = {backend: sliding_window}`",
       Daemon::kDefault,
       GenerateWith([](auto& r, auto&) {
         r.mutable_context_policy()->set_kind("sinks");
         r.mutable_attention()->set_backend("sliding_window");
       }),
       StatusCode::INVALID_ARGUMENT, "leave attention unset"},
      // Chat messages.
      {"MessagesWithoutChatTemplate", "Generate `messages = [{user, \"Hi\"}]` on a model without a template",
       Daemon::kDefault, GenerateWith([](auto& r, auto&) { AddMessage(r, "user", "Hi"); }),
       StatusCode::FAILED_PRECONDITION, "messages: this model has no chat template"},
      {"MessagesAndPrompt", "Generate with both `messages` and `prompt`", Daemon::kChatTemplate,
       GenerateWith([](auto& r, auto&) {
         r.add_messages()->set_role("user");
         r.mutable_messages(0)->set_content("Hi");
       }),
       StatusCode::INVALID_ARGUMENT, "messages and prompt"},
      {"UnknownChatRole", "Generate `messages = [{role: wizard}]`", Daemon::kChatTemplate,
       GenerateWith([](auto& r, auto&) { AddMessage(r, "wizard", "Hi"); }),
       StatusCode::INVALID_ARGUMENT, "messages[0].role 'wizard'"},
      {"ToolCallArgumentsNotJson", "Generate an assistant message whose `tool_calls[0].arguments_json` is `{oops`",
       Daemon::kChatTemplate,
       GenerateWith([](auto& r, auto&) {
         AddMessage(r, "user", "Hi");
         v1::ToolCall* call = AddMessage(r, "assistant", "")->add_tool_calls();
         call->set_name("lookup");
         call->set_arguments_json("{oops");
       }),
       StatusCode::INVALID_ARGUMENT, "messages[1].tool_calls[0].function.arguments is not valid JSON"},
      {"ToolsJsonNotAnArray", "Generate chat with `tools_json = {\"type\": \"function\"}`",
       Daemon::kChatTemplate,
       GenerateWith([](auto& r, auto&) {
         AddMessage(r, "user", "Hi");
         r.set_tools_json(R"({"type": "function"})");
       }),
       StatusCode::INVALID_ARGUMENT, "tools_json must be a JSON array"},
      {"ChatTemplateKwargsNotAnObject", "Generate chat with `chat_template_kwargs_json = [1]`",
       Daemon::kChatTemplate,
       GenerateWith([](auto& r, auto&) {
         AddMessage(r, "user", "Hi");
         r.set_chat_template_kwargs_json("[1]");
       }),
       StatusCode::INVALID_ARGUMENT, "chat_template_kwargs_json must be a JSON object"},
      // Score.
      {"ScoreWithoutTokens", "Score with neither `prompt` nor `token_ids`", Daemon::kDefault,
       ScoreWith([](auto&, auto&) {}), StatusCode::INVALID_ARGUMENT, "token_ids is empty"},
      {"ScoreTokenOutsideVocab", "Score `token_ids = [1, vocab_size]`", Daemon::kDefault,
       ScoreWith([](auto& r, auto& info) {
         r.add_token_ids(1);
         r.add_token_ids(static_cast<int32_t>(info.vocab_size()));
       }),
       StatusCode::INVALID_ARGUMENT, "token_ids[1]"},
      {"ScoreLongerThanContext", "Score `max_context + 1` tokens", Daemon::kDefault,
       ScoreWith([](auto& r, auto& info) {
         for (uint32_t i = 0; i <= info.max_context(); ++i) r.add_token_ids(5);
       }),
       StatusCode::INVALID_ARGUMENT, "maximum context length"},
      {"ScoreUnknownAttention", "Score `attention = {backend: nope}`", Daemon::kDefault,
       ScoreWith([](auto& r, auto&) {
         r.set_prompt("A valid prompt");
         r.mutable_attention()->set_backend("nope");
       }),
       StatusCode::INVALID_ARGUMENT, "attention.backend"},
      // Detokenize.
      {"DetokenizeNegativeId", "Detokenize `token_ids = [-5]`", Daemon::kDefault, DetokenizeIds({-5}),
       StatusCode::INVALID_ARGUMENT, "token_ids[0] = -5"},
      {"DetokenizeIdAtVocabSize", "Detokenize `token_ids = [5, vocab_size]`", Daemon::kDefault,
       DetokenizeIds({5, kVocab}), StatusCode::INVALID_ARGUMENT, "token_ids[1]"},
      // Payloads that are not valid protos, through grpc::GenericStub. gRPC's callback API answers a
      // request it cannot deserialize with UNIMPLEMENTED and an empty message (before any of
      // attnserve's code runs), the same as an unknown method.
      {"GarbageBytesOnGenerate", "Generate payload of ten 0xff bytes (an overlong varint)", Daemon::kDefault,
       RawCall(kGenerate, std::string(10, '\xff')), StatusCode::UNIMPLEMENTED, ""},
      {"TruncatedFieldOnGenerate", "Generate payload `12 64 'abc'` (prompt of length 100, 3 bytes given)",
       Daemon::kDefault, RawCall(kGenerate, std::string("\x12\x64" "abc", 5)), StatusCode::UNIMPLEMENTED, ""},
      {"InvalidUtf8PromptOnGenerate", "Generate payload whose `prompt` is the bytes `c3 28` (not UTF-8)",
       Daemon::kDefault, RawCall(kGenerate, std::string("\x12\x02\xc3\x28", 4)), StatusCode::UNIMPLEMENTED, ""},
      {"InvalidUtf8StopOnGenerate", "Generate payload `prompt = \"Hello\"`, `stop = [ff]` (not UTF-8)",
       Daemon::kDefault, RawCall(kGenerate, std::string("\x12\x05Hello\x32\x01\xff", 10)),
       StatusCode::UNIMPLEMENTED, ""},
      {"InvalidUtf8TextOnTokenize", "Tokenize payload whose `text` is the bytes `c3 28`", Daemon::kDefault,
       RawCall("/attnserve.v1.Inference/Tokenize", std::string("\x0a\x02\xc3\x28", 4)), StatusCode::UNIMPLEMENTED, ""},
      {"UnknownMethod", "call `/attnserve.v1.Inference/Embed` (no such method)", Daemon::kDefault,
       RawCall("/attnserve.v1.Inference/Embed", ""), StatusCode::UNIMPLEMENTED, ""},
  };
  return rows;
}

const std::vector<HttpRow>& HttpRows() {
  auto post = [](std::string path, std::string body) {
    HttpRequestSpec r;
    r.path = std::move(path);
    r.body = std::move(body);
    return r;
  };
  auto completions = [post](std::string body) { return post("/v1/completions", std::move(body)); };
  auto chat = [post](std::string body) { return post("/v1/chat/completions", std::move(body)); };
  auto bare = [](std::string method, std::string path) {  // no body
    HttpRequestSpec r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
  };
  auto with = [](HttpRequestSpec r, auto change) {
    change(r);
    return r;
  };
  const std::string bad = "invalid_request_error";
  static const std::vector<HttpRow> rows = {
      // Bodies that are not a JSON object.
      {"NotJson", "POST /v1/completions `{not json`", Daemon::kDefault, completions("{not json"), 400, bad, "",
       "not valid JSON"},
      {"FormEncodedBody", "POST /v1/completions, `Content-Type: application/x-www-form-urlencoded`, "
                          "`prompt=Hi&max_tokens=2`",
       Daemon::kDefault,
       with(completions("prompt=Hi&max_tokens=2"),
            [](auto& r) { r.content_type = "application/x-www-form-urlencoded"; }),
       400, bad, "", "not valid JSON"},
      {"JsonArrayBody", "POST /v1/completions `[{\"prompt\": \"Hi\"}]`", Daemon::kDefault,
       completions(R"([{"prompt": "Hi"}])"), 400, bad, "", "must be a JSON object"},
      // Fields of the wrong shape.
      {"MissingPrompt", "POST /v1/completions `{\"max_tokens\": 2}`", Daemon::kDefault,
       completions(R"({"max_tokens": 2})"), 400, bad, "prompt", "prompt is required"},
      {"PromptObject", "POST /v1/completions `prompt: {\"text\": \"Hi\"}`", Daemon::kDefault,
       completions(R"({"prompt": {"text": "Hi"}})"), 400, bad, "prompt", "prompt must be a string"},
      {"EmptyTokenList", "POST /v1/completions `prompt: [[]]`", Daemon::kDefault,
       completions(R"({"prompt": [[]]})"), 400, bad, "prompt", "prompt is empty"},
      {"ModelNotString", "POST /v1/completions `model: 7`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "model": 7})"), 400, bad, "model", "model must be a string"},
      {"UnknownModel", "POST /v1/completions `model: \"gpt-4\"`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "model": "gpt-4"})"), 404, "not_found_error", "model",
       "model 'gpt-4' does not exist"},
      {"NString", "POST /v1/completions `n: \"two\"`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "n": "two"})"), 400, bad, "n", "n must be an integer"},
      {"NAboveLimit", "POST /v1/completions `n: 129`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "n": 129})"), 400, bad, "n", "n must be in [1, 128]"},
      {"TemperatureString", "POST /v1/completions `temperature: \"hot\"`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "temperature": "hot"})"), 400, bad, "temperature",
       "temperature must be a number"},
      {"MaxTokensZero", "POST /v1/completions `max_tokens: 0`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "max_tokens": 0})"), 400, bad, "max_tokens", "max_tokens must be >= 1"},
      {"MaxTokensNegative", "POST /v1/completions `max_tokens: -1`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "max_tokens": -1})"), 400, bad, "max_tokens", "max_tokens must be in [0,"},
      {"MaxTokensFraction", "POST /v1/completions `max_tokens: 2.5`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "max_tokens": 2.5})"), 400, bad, "max_tokens",
       "max_tokens must be an integer"},
      {"CompletionLogprobsAboveTwenty", "POST /v1/completions `logprobs: 21`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "logprobs": 21})"), 400, bad, "logprobs", "logprobs must be in [0, 20]"},
      {"StopNumber", "POST /v1/completions `stop: 5`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "stop": 5})"), 400, bad, "stop", "stop must be a string or a list"},
      {"StopListWithNumber", "POST /v1/completions `stop: [\"a\", 3]`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "stop": ["a", 3]})"), 400, bad, "stop", "stop must be a string or a list"},
      {"LogitBiasKeyNotTokenId", "POST /v1/completions `logit_bias: {\"abc\": 1}`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "logit_bias": {"abc": 1}})"), 400, bad, "logit_bias",
       "key 'abc' is not a token id"},
      {"AttentionUnknownField", "POST /v1/completions `attention: {\"backend\": \"sliding_window\", \"windw\": 3}`",
       Daemon::kDefault, completions(R"({"prompt": "Hi", "attention": {"backend": "sliding_window", "windw": 3}})"),
       400, bad, "attention", "attention is malformed"},
      // Streaming with bad options: refused before the event stream starts.
      {"StreamNotBoolean", "POST /v1/completions `stream: \"yes\"`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "stream": "yes"})"), 400, bad, "stream", "stream must be true or false"},
      {"StreamOptionsWithoutStream", "POST /v1/completions `stream_options: {\"include_usage\": true}` without stream",
       Daemon::kDefault, completions(R"({"prompt": "Hi", "stream_options": {"include_usage": true}})"), 400, bad,
       "stream_options", "only allowed with stream: true"},
      {"StreamOptionsNotObject", "POST /v1/completions `stream: true, stream_options: \"usage\"`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "stream": true, "stream_options": "usage"})"), 400, bad, "stream_options",
       "stream_options must be an object"},
      {"StreamWithTopPZero", "POST /v1/completions `stream: true, top_p: 0`", Daemon::kDefault,
       completions(R"({"prompt": "Hi", "stream": true, "top_p": 0})"), 400, bad, "top_p", "sampling.top_p"},
      // Chat.
      {"ChatWithoutTemplate", "POST /v1/chat/completions on a model without a chat template", Daemon::kDefault,
       chat(R"({"messages": [{"role": "user", "content": "Hi"}]})"), 400, bad, "messages", "no chat template"},
      {"ChatTopLogprobsWithoutLogprobs", "POST /v1/chat/completions `top_logprobs: 2` without `logprobs: true`",
       Daemon::kChatTemplate, chat(R"({"messages": [{"role": "user", "content": "Hi"}], "top_logprobs": 2})"), 400,
       bad, "top_logprobs", "requires logprobs: true"},
      {"ChatMessagesString", "POST /v1/chat/completions `messages: \"Hi\"`", Daemon::kChatTemplate,
       chat(R"({"messages": "Hi"})"), 400, bad, "messages", "messages must be a non-empty array"},
      {"ChatContentNumber", "POST /v1/chat/completions `messages: [{\"role\": \"user\", \"content\": 5}]`",
       Daemon::kChatTemplate, chat(R"({"messages": [{"role": "user", "content": 5}]})"), 400, bad, "messages",
       "messages[0].content must be a string"},
      {"ChatToolChoiceRequired", "POST /v1/chat/completions `tool_choice: \"required\"`", Daemon::kChatTemplate,
       chat(R"({"messages": [{"role": "user", "content": "Hi"}], "tool_choice": "required"})"), 400, bad,
       "tool_choice", "tool_choice other than"},
      // Other routes.
      {"TokenizeWithoutPrompt", "POST /tokenize `{}`", Daemon::kDefault, post("/tokenize", "{}"), 400, bad, "prompt",
       "prompt must be a string"},
      {"DetokenizeIdAtVocabSize", "POST /detokenize `{\"tokens\": [5, 1024]}` (vocab 1024)", Daemon::kDefault,
       post("/detokenize", R"({"tokens": [5, 1024]})"), 400, bad, "tokens", "tokens[1] is not a token id"},
      {"UnknownModelPath", "GET /v1/models/gpt-4", Daemon::kDefault,
       bare("GET", "/v1/models/gpt-4"), 404,
       "not_found_error", "model", "model 'gpt-4' does not exist"},
      {"UnknownRoute", "POST /v1/embeddings", Daemon::kDefault, post("/v1/embeddings", R"({"input": "Hi"})"), 404,
       "not_found_error", "", "no route POST /v1/embeddings"},
      {"WrongMethod", "GET /v1/completions", Daemon::kDefault,
       bare("GET", "/v1/completions"), 405, "invalid_request_error", "",
       "method GET is not allowed on /v1/completions"},
      {"DeleteModels", "DELETE /v1/models", Daemon::kDefault,
       bare("DELETE", "/v1/models"), 405, "invalid_request_error", "",
       "method DELETE is not allowed"},
      // Requests the HTTP parser refuses.
      {"BodyOverLimit", "POST /v1/completions with a 5000-byte body (`--http_max_body_bytes=4096`)",
       Daemon::kDefault,
       completions(R"({"prompt": ")" + std::string(5000 - 15, 'x') + R"("})"), 413, bad, "",
       "request body too large"},
      {"HeadersOverLimit", "POST /v1/completions with a 70000-byte header (limit 64 KiB)", Daemon::kDefault,
       with(completions(R"({"prompt": "Hi"})"),
            [](auto& r) { r.extra_headers = "X-Padding: " + std::string(70000, 'p') + "\r\n"; }),
       431, bad, "", "request headers too large"},
      {"MalformedRequestLine", "the bytes `BREW /v1/completions HTCPCP/1.0` + CRLF CRLF", Daemon::kDefault,
       with(HttpRequestSpec{}, [](auto& r) { r.raw = "BREW /v1/completions HTCPCP/1.0\r\n\r\n"; }), 400, bad, "",
       "malformed HTTP request"},
  };
  return rows;
}

const std::vector<StartupRow>& StartupRows() {
  static const std::vector<StartupRow> rows = {
      // Flags (startup_errors_test.cc keeps the port-in-use cases and --help).
      {"UnknownFlag", "`--no_such_flag=1`",
       [](const std::string&) { return std::vector<std::string>{"--no_such_flag=1"}; },
       {"Unknown command line flag 'no_such_flag'"}},
      {"BlockSizeZero", "`--block_size=0`", Flag("--block_size=0"), {"--block_size=0 is invalid"}},
      {"KvCacheFractionAboveOne", "`--kv_cache_memory_fraction=1.5`", Flag("--kv_cache_memory_fraction=1.5"),
       {"--kv_cache_memory_fraction=1.5 is invalid"}},
      {"MaxQueueTimeNegative", "`--max_queue_time=-1`", Flag("--max_queue_time=-1"),
       {"--max_queue_time=-1 is invalid"}},
      {"DrainTimeoutNegative", "`--drain_timeout=-2`", Flag("--drain_timeout=-2"), {"--drain_timeout=-2 is invalid"}},
      {"ShutdownGraceNegative", "`--shutdown_grace_seconds=-1`", Flag("--shutdown_grace_seconds=-1"),
       {"--shutdown_grace_seconds=-1 is invalid"}},
      {"HttpPortAboveRange", "`--http_port=70000`", Flag("--http_port=70000"), {"--http_port=70000 is invalid"}},
      {"HttpMaxBodyTooSmall", "`--http_max_body_bytes=10`", Flag("--http_max_body_bytes=10"),
       {"--http_max_body_bytes=10 is invalid"}},
      {"GrpcPortNegative", "`--port=-1`", Flag("--port=-1"), {"--port=-1 is invalid: must be in [0, 65535]"}},
      {"MetricsPortNegative", "`--metrics_port=-5`", Flag("--metrics_port=-5"),
       {"--metrics_port=-5 is invalid: must be in [0, 65535]"}},
      {"NumThreadsNegative", "`--num_threads=-3`", Flag("--num_threads=-3"),
       {"--num_threads=-3 is invalid: must be in [0, 4096]"}},
      {"AttentionUnknownBackend", "`--attention=nope`", Flag("--attention=nope"),
       {"--attention=nope", "attention.backend \"nope\" is unknown"}},
      {"AttentionMisspelledParameter", "`--attention=sliding_window:windw=3`",
       Flag("--attention=sliding_window:windw=3"), {"--attention", "unknown attention parameter \"windw\""}},
      {"AttentionOutOfRange", "`--attention=bigbird:window_blocks=0`", Flag("--attention=bigbird:window_blocks=0"),
       {"--attention", "attention.window_blocks must be in"}},
      {"ContextPolicyUnknownKind", "`--context_policy=warp`", Flag("--context_policy=warp"),
       {"--context_policy", "context_policy.kind \"warp\" is unknown"}},
      {"ContextPolicyFactorNotANumber", "`--context_policy=yarn:factor=abc`", Flag("--context_policy=yarn:factor=abc"),
       {"--context_policy", "context_policy.factor must be a number"}},
      {"WeightDtypeUnknown", "`--weight_dtype=f8`", Flag("--weight_dtype=f8"), {"--weight_dtype=f8 is invalid"}},
      {"DeviceUnknown", "`--device=tpu`", Flag("--device=tpu"), {"--device", "unknown device 'tpu'"}},
      {"ExpertShardsOnDenseModel", "`--expert_shards=2` on a dense model", Flag("--expert_shards=2"),
       {"--expert_shards=2", "has no experts"}},
      {"KvCacheTooSmall", "`--kv_cache_bytes=1024` (less than one full context)", Flag("--kv_cache_bytes=1024"),
       {"--kv_cache_bytes=1024 holds 0 KV blocks"}},
      {"MaxNumSeqsZero", "`--max_num_seqs=0`", Flag("--max_num_seqs=0"), {"--max_num_seqs"}},
      {"WeightDtypeKQuantOnShortRows", "`--weight_dtype=q4_k` (rows of 128 elements)", Flag("--weight_dtype=q4_k"),
       {"q4_k needs 256-element blocks"}},
      {"ChatTemplateFileMissing", "`--chat_template=<missing file>`",
       [](const std::string& scratch) {
         return std::vector<std::string>{"--model=" + DefaultModelDir(),
                                         "--chat_template=" + scratch + "/absent.jinja"};
       },
       {"--chat_template", "cannot read", "absent.jinja"}},
      {"ChatTemplateUnclosedBlock", "`--chat_template=<file with an unclosed {% for %}>`",
       [](const std::string& scratch) {
         WriteFile(fs::path(scratch) / "broken.jinja", "{% for m in messages %}{{ m.content }}");
         return std::vector<std::string>{"--model=" + DefaultModelDir(),
                                         "--chat_template=" + scratch + "/broken.jinja"};
       },
       {"broken.jinja", "endfor"}},
      // Hugging Face model directories.
      {"ModelPathMissing", "`--model=<missing dir>`",
       [](const std::string& scratch) { return std::vector<std::string>{"--model=" + scratch + "/does-not-exist"}; },
       {"does-not-exist"}},
      {"ModelDirWithoutConfig", "a model directory without config.json",
       [](const std::string& scratch) {
         const std::string model = CopyModel(scratch);
         fs::remove(fs::path(model) / "config.json");
         return std::vector<std::string>{"--model=" + model};
       },
       {"config.json: cannot open file"}},
      {"ConfigNotJson", "config.json cut after `{\"architectures\": [`",
       [](const std::string& scratch) {
         const std::string model = CopyModel(scratch);
         WriteFile(fs::path(model) / "config.json", R"({"architectures": [)");
         return std::vector<std::string>{"--model=" + model};
       },
       {"config.json: not a valid JSON object"}},
      {"ConfigUnsupportedArchitecture", "config.json `architectures: [\"GPT2LMHeadModel\"]`",
       EditedConfig([](nlohmann::json& c) { c["architectures"] = {"GPT2LMHeadModel"}; }), {"GPT2LMHeadModel"}},
      {"ConfigHeadCountString", "config.json `num_attention_heads: \"four\"`",
       EditedConfig([](nlohmann::json& c) { c["num_attention_heads"] = "four"; }),
       {"\"num_attention_heads\" must be a positive integer"}},
      {"ConfigHiddenSizeZero", "config.json `hidden_size: 0`",
       EditedConfig([](nlohmann::json& c) { c["hidden_size"] = 0; }),
       {"\"hidden_size\" must be a positive integer"}},
      {"TokenizerTruncated", "tokenizer.json cut to its first half",
       [](const std::string& scratch) {
         const std::string model = CopyModel(scratch);
         const fs::path path = fs::path(model) / "tokenizer.json";
         fs::resize_file(path, fs::file_size(path) / 2);
         return std::vector<std::string>{"--model=" + model};
       },
       {"tokenizer.json: malformed JSON"}},
      {"TokenizerMissing", "a model directory without tokenizer.json",
       [](const std::string& scratch) {
         const std::string model = CopyModel(scratch);
         fs::remove(fs::path(model) / "tokenizer.json");
         return std::vector<std::string>{"--model=" + model};
       },
       {"tokenizer.json: cannot open"}},
      {"SafetensorsTruncated", "model.safetensors cut to half its size",
       [](const std::string& scratch) {
         const std::string model = CopyModel(scratch);
         const fs::path path = fs::path(model) / "model.safetensors";
         fs::resize_file(path, fs::file_size(path) / 2);
         return std::vector<std::string>{"--model=" + model};
       },
       {"model.safetensors", "lie outside the data region"}},
      {"SafetensorsHeaderLengthHuge", "model.safetensors whose 8-byte header length is 2^63",
       [](const std::string& scratch) {
         const std::string model = CopyModel(scratch);
         std::fstream file(fs::path(model) / "model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
         file.write("\0\0\0\0\0\0\0\x80", 8);
         return std::vector<std::string>{"--model=" + model};
       },
       {"model.safetensors: header length", "exceeds the file"}},
      {"SafetensorsMissing", "a model directory without model.safetensors",
       [](const std::string& scratch) {
         const std::string model = CopyModel(scratch);
         fs::remove(fs::path(model) / "model.safetensors");
         return std::vector<std::string>{"--model=" + model};
       },
       {"no *.safetensors weights"}},
      // GGUF files.
      {"GgufTruncated", "a GGUF file cut to half its size",
       DamagedGguf([](const fs::path& p) { fs::resize_file(p, fs::file_size(p) / 2); }),
       {"broken.gguf", "runs past the end of the file"}},
      {"GgufBadMagic", "a GGUF file whose first 4 bytes are `GGML`",
       DamagedGguf([](const fs::path& p) {
         std::fstream(p, std::ios::in | std::ios::out | std::ios::binary).write("GGML", 4);
       }),
       {"broken.gguf", "not a GGUF file"}},
      {"GgufEmpty", "an empty .gguf file", DamagedGguf([](const fs::path& p) { fs::resize_file(p, 0); }),
       {"broken.gguf: truncated at byte 0"}},
      {"GgufUnknownArchitecture", "tests/golden/gguf_models/bad/unknown_architecture.gguf",
       [](const std::string&) {
         return std::vector<std::string>{"--model=" + GoldenGguf("bad/unknown_architecture.gguf").string()};
       },
       {"metadata 'general.architecture' is \"gpt2\""}},
      {"ModelIsAPlainFile", "`--model=<a model's config.json>` (neither a directory nor .gguf)",
       [](const std::string&) { return std::vector<std::string>{"--model=" + DefaultModelDir() + "/config.json"}; },
       {"neither a model directory nor a .gguf file"}},
      {"GgufPathMissing", "`--model=<missing .gguf>`",
       [](const std::string& scratch) { return std::vector<std::string>{"--model=" + scratch + "/absent.gguf"}; },
       {"absent.gguf"}},
  };
  return rows;
}

}  // namespace attnserve::testing::catalogue

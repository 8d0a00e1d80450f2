// attnserve-cli subcommands (see commands.h).
#include "clients/cli/commands.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "google/protobuf/text_format.h"

namespace attnserve::cli {
namespace {

using Clock = std::chrono::steady_clock;

void PrepareContext(grpc::ClientContext& context, const CallOptions& call) {
  if (call.timeout.has_value()) {
    context.set_deadline(std::chrono::system_clock::now() + *call.timeout);
  }
}

int Fail(const grpc::Status& status) {
  // gRPC status codes equal absl's; absl names them ("DEADLINE_EXCEEDED", ...).
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  std::fprintf(stderr, "attnserve-cli: %s: %s\n", name.empty() ? "UNKNOWN" : name.c_str(),
               status.error_message().c_str());
  return 1;
}

// One token's text, special tokens rendered (for tables).
std::string TokenText(v1::Inference::Stub& stub, const CallOptions& call, int32_t id) {
  grpc::ClientContext context;
  PrepareContext(context, call);
  v1::DetokenizeRequest request;
  request.add_token_ids(id);
  request.set_skip_special_tokens(false);
  v1::DetokenizeResponse response;
  if (!stub.Detokenize(&context, request, &response).ok()) return "?";
  return response.text();
}

// Escapes control characters so one token stays on one line.
std::string Printable(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else out += c;
  }
  return out;
}

}  // namespace

std::optional<std::vector<int32_t>> ParseIds(const std::string& text) {
  std::vector<int32_t> ids;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int32_t id = 0;
    if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(part), &id)) return std::nullopt;
    ids.push_back(id);
  }
  return ids;
}

v1::GenerateRequest RequestWithOptions(const GenerateOptions& options) {
  v1::GenerateRequest request;
  request.set_max_tokens(options.max_tokens);
  request.mutable_sampling()->set_temperature(options.temperature);
  request.mutable_sampling()->set_top_p(options.top_p);
  request.mutable_sampling()->set_top_k(options.top_k);
  if (options.seed.has_value()) request.mutable_sampling()->set_seed(*options.seed);
  for (const std::string& s : options.stop) request.add_stop(s);
  for (int32_t id : options.stop_token_ids) request.add_stop_token_ids(id);
  request.set_ignore_eos(options.ignore_eos);
  if (!options.attention.backend().empty()) *request.mutable_attention() = options.attention;
  if (!options.context_policy.kind().empty()) *request.mutable_context_policy() = options.context_policy;
  return request;
}

int Generate(v1::Inference::Stub& stub, const CallOptions& call, const std::string& prompt,
             const GenerateOptions& options) {
  v1::GenerateRequest request = RequestWithOptions(options);
  request.set_prompt(prompt);
  if (options.logprobs >= 0) {
    request.set_logprobs(true);
    request.set_top_logprobs(static_cast<uint32_t>(options.logprobs));
  }

  grpc::ClientContext context;
  PrepareContext(context, call);
  const Clock::time_point start = Clock::now();
  std::optional<Clock::time_point> first_token;
  auto reader = stub.Generate(&context, request);
  v1::GenerateResponse response;
  v1::GenerateResponse last;
  std::vector<v1::TokenLogprob> logprobs;
  while (reader->Read(&response)) {
    if (!first_token.has_value() && response.token_ids_size() > 0) first_token = Clock::now();
    std::fwrite(response.text().data(), 1, response.text().size(), stdout);
    std::fflush(stdout);
    for (const auto& lp : response.logprobs()) logprobs.push_back(lp);
    last = response;
  }
  const grpc::Status status = reader->Finish();
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (!status.ok()) return Fail(status);

  for (const v1::TokenLogprob& lp : logprobs) {
    std::fprintf(stderr, "%8d %-16s %9.4f", lp.token_id(),
                 absl::StrCat("'", Printable(TokenText(stub, call, lp.token_id())), "'").c_str(),
                 lp.logprob());
    for (const v1::TopLogprob& top : lp.top_logprobs()) {
      std::fprintf(stderr, "  | %d '%s' %.4f", top.token_id(), Printable(top.text()).c_str(),
                   top.logprob());
    }
    std::fputc('\n', stderr);
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  const double ttft_s =
      first_token ? std::chrono::duration<double>(*first_token - start).count() : 0.0;
  const uint32_t completion = last.usage().completion_tokens();
  std::fprintf(stderr,
               "[%s%s%s] request_id=%s prompt_tokens=%u completion_tokens=%u ttft=%.3fs "
               "total=%.3fs (%.1f tokens/s)\n",
               v1::FinishReason_Name(last.finish_reason()).c_str(),
               last.stop_reason().empty() ? "" : " stop_reason=",
               Printable(last.stop_reason()).c_str(), last.request_id().c_str(),
               last.usage().prompt_tokens(), completion, ttft_s, total_s,
               total_s > 0 ? completion / total_s : 0.0);
  return 0;
}

int Score(v1::Inference::Stub& stub, const CallOptions& call, const std::string& text,
          const std::vector<int32_t>& ids, const v1::AttentionConfig& attention,
          const v1::ContextPolicy& context_policy) {
  v1::ScoreRequest request;
  *request.mutable_attention() = attention;
  *request.mutable_context_policy() = context_policy;
  request.set_prompt(text);
  request.mutable_token_ids()->Add(ids.begin(), ids.end());
  grpc::ClientContext context;
  PrepareContext(context, call);
  v1::ScoreResponse response;
  const grpc::Status status = stub.Score(&context, request, &response);
  if (!status.ok()) return Fail(status);
  double total = 0;
  std::printf("%5s %8s %-20s %10s\n", "pos", "id", "token", "logprob");
  for (int i = 0; i < response.token_ids_size(); ++i) {
    const int32_t id = response.token_ids(i);
    const std::string token = absl::StrCat("'", Printable(TokenText(stub, call, id)), "'");
    if (i == 0) {
      std::printf("%5d %8d %-20s %10s\n", i, id, token.c_str(), "-");
      continue;
    }
    const float lp = response.token_logprobs(i - 1);
    total += lp;
    std::printf("%5d %8d %-20s %10.4f\n", i, id, token.c_str(), lp);
  }
  const int n = response.token_logprobs_size();
  std::printf("total logprob %.4f over %d predicted tokens; perplexity %.4f\n", total, n,
              n > 0 ? std::exp(-total / n) : 0.0);
  return 0;
}

int Tokenize(v1::Inference::Stub& stub, const CallOptions& call, const std::string& text) {
  v1::TokenizeRequest request;
  request.set_text(text);
  grpc::ClientContext context;
  PrepareContext(context, call);
  v1::TokenizeResponse response;
  const grpc::Status status = stub.Tokenize(&context, request, &response);
  if (!status.ok()) return Fail(status);
  std::printf("%s\n", absl::StrJoin(response.token_ids(), ",").c_str());
  for (int i = 0; i < response.token_ids_size(); ++i) {
    std::fprintf(stderr, "%8d '%s'\n", response.token_ids(i), Printable(response.tokens(i)).c_str());
  }
  return 0;
}

int Detokenize(v1::Inference::Stub& stub, const CallOptions& call,
               const std::vector<int32_t>& ids) {
  v1::DetokenizeRequest request;
  request.mutable_token_ids()->Add(ids.begin(), ids.end());
  grpc::ClientContext context;
  PrepareContext(context, call);
  v1::DetokenizeResponse response;
  const grpc::Status status = stub.Detokenize(&context, request, &response);
  if (!status.ok()) return Fail(status);
  std::printf("%s\n", response.text().c_str());
  return 0;
}

int Info(v1::Inference::Stub& stub, const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(context, call);
  v1::ModelInfo info;
  const grpc::Status status = stub.GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
  if (!status.ok()) return Fail(status);
  std::string text;
  google::protobuf::TextFormat::PrintToString(info, &text);
  std::fputs(text.c_str(), stdout);
  return 0;
}

int Status(v1::Inference::Stub& stub, const CallOptions& call) {
  grpc::ClientContext context;
  PrepareContext(context, call);
  v1::ServerStatus server_status;
  const grpc::Status status =
      stub.GetServerStatus(&context, v1::GetServerStatusRequest(), &server_status);
  if (!status.ok()) return Fail(status);
  std::string text;
  google::protobuf::TextFormat::PrintToString(server_status, &text);
  std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace attnserve::cli

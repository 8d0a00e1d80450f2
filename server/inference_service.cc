// InferenceService: the attnserve.v1.Inference RPCs (see inference_service.h).
#include "server/inference_service.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "server/generate_reactor.h"
#include "server/metrics.h"
#include "server/proto_convert.h"

namespace attnserve::server {
namespace {

std::string RandomSalt() {
  std::random_device rd;
  return absl::StrFormat("%08x", rd());
}

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

}  // namespace

InferenceService::InferenceService(Engine& engine, PrometheusRequestObserver* metrics,
                                   const ChatPrompt* chat, AccessControl* access)
    : engine_(engine), metrics_(metrics), chat_(chat), access_(access), id_salt_(RandomSalt()) {}

std::string_view InferenceService::Authorization(const grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("authorization");
  return it == metadata.end() ? std::string_view() : std::string_view(it->second.data(), it->second.size());
}

absl::Status InferenceService::CheckKey(const grpc::CallbackServerContext* context,
                                        std::string* key_name) const {
  *key_name = "anonymous";
  if (access_ == nullptr) return absl::OkStatus();
  return access_->Authenticate(Authorization(context), key_name).status();
}

absl::StatusOr<Admission> InferenceService::AdmitWork(const grpc::CallbackServerContext* context,
                                                      std::string* key_name) {
  *key_name = "anonymous";
  if (access_ == nullptr) return Admission{};
  return access_->AdmitWork(Authorization(context), key_name);
}

grpc::ServerUnaryReactor* InferenceService::Refuse(grpc::CallbackServerContext* context,
                                                   const absl::Status& status,
                                                   std::string_view key_name) const {
  if (metrics_ != nullptr) metrics_->OnRejected(status, key_name);
  AddRefusalTrailers(status, context);
  return FinishNow(context, ToGrpcStatus(status));
}

std::string InferenceService::NextRequestId(const char* prefix) {
  return absl::StrCat(prefix, "-", id_salt_, "-", next_id_.fetch_add(1) + 1);
}

grpc::ServerWriteReactor<v1::GenerateResponse>* InferenceService::Generate(
    grpc::CallbackServerContext* context, const v1::GenerateRequest* request) {
  std::string request_id =
      request->request_id().empty() ? NextRequestId("gen") : request->request_id();
  std::string key_name;
  absl::StatusOr<Admission> admission = AdmitWork(context, &key_name);
  return new GenerateReactor(engine_, metrics_, chat_, context, *request, std::move(request_id),
                             open_calls_.Track(), std::move(admission), key_name);
}

grpc::ServerUnaryReactor* InferenceService::Score(grpc::CallbackServerContext* context,
                                                  const v1::ScoreRequest* request,
                                                  v1::ScoreResponse* response) {
  std::string key_name;
  absl::StatusOr<Admission> admission = AdmitWork(context, &key_name);
  if (!admission.ok()) return Refuse(context, admission.status(), key_name);
  absl::StatusOr<ScoreSpec> spec = ToScoreSpec(*request, engine_.tokenizer());
  absl::Status status = spec.status();
  if (status.ok()) {
    uint32_t no_max_tokens = 0;  // Score generates nothing: only the prompt cap applies
    status = ApplyCaps(admission->caller, spec->token_ids.size(), false, &no_max_tokens);
  }
  if (status.ok()) {
    spec->request_id = NextRequestId("score");
    spec->deadline = ToEngineDeadline(context->deadline());
  }
  if (!status.ok()) return Refuse(context, status, key_name);
  // The unary reactor (and `response`) live until Finish, so the engine's callback may use them.
  // SubmitScore validates (INVALID_ARGUMENT naming the field) before queueing.
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  std::vector<int32_t> token_ids = spec->token_ids;
  auto lease = std::make_shared<QuotaLease>(std::move(admission->lease));
  status = engine_.SubmitScore(
      *std::move(spec), [reactor, response, token_ids = std::move(token_ids), lease,
                         open_call = open_calls_.Track()](absl::StatusOr<ScoreResult> result) {
        if (!result.ok()) {
          reactor->Finish(ToGrpcStatus(result.status()));
          return;
        }
        ToProto(*result, token_ids, response);
        reactor->Finish(grpc::Status::OK);
      });
  if (!status.ok()) {
    if (metrics_ != nullptr) metrics_->OnRejected(status, key_name);
    AddRefusalTrailers(status, context);
    reactor->Finish(ToGrpcStatus(status));
  } else if (metrics_ != nullptr) {
    metrics_->OnKeyRequest(key_name);
  }
  return reactor;
}

grpc::ServerUnaryReactor* InferenceService::Tokenize(grpc::CallbackServerContext* context,
                                                     const v1::TokenizeRequest* request,
                                                     v1::TokenizeResponse* response) {
  std::string key_name;
  if (absl::Status key = CheckKey(context, &key_name); !key.ok()) return Refuse(context, key, key_name);
  const Tokenizer& tokenizer = engine_.tokenizer();
  const bool add_special = request->has_add_special_tokens() ? request->add_special_tokens() : true;
  for (int32_t id : tokenizer.Encode(request->text(), add_special)) {
    response->add_token_ids(id);
    response->add_tokens(tokenizer.IdToToken(id));
  }
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::Detokenize(grpc::CallbackServerContext* context,
                                                       const v1::DetokenizeRequest* request,
                                                       v1::DetokenizeResponse* response) {
  std::string key_name;
  if (absl::Status key = CheckKey(context, &key_name); !key.ok()) return Refuse(context, key, key_name);
  const int64_t vocab_size = engine_.info().vocab_size;
  for (int i = 0; i < request->token_ids_size(); ++i) {
    const int32_t id = request->token_ids(i);
    if (id < 0 || id >= vocab_size) {
      return FinishNow(context, grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                             absl::StrFormat("token_ids[%d] = %d is outside the "
                                                             "vocabulary [0, %d)",
                                                             i, id, vocab_size)));
    }
  }
  const bool skip_special =
      request->has_skip_special_tokens() ? request->skip_special_tokens() : true;
  response->set_text(engine_.tokenizer().Decode(
      std::span<const int32_t>(request->token_ids().data(), request->token_ids_size()),
      skip_special));
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::GetModelInfo(grpc::CallbackServerContext* context,
                                                         const v1::GetModelInfoRequest* request,
                                                         v1::ModelInfo* response) {
  std::string key_name;
  if (absl::Status key = CheckKey(context, &key_name); !key.ok()) return Refuse(context, key, key_name);
  ToProto(engine_.info(), response);
  return FinishNow(context, grpc::Status::OK);
}

grpc::ServerUnaryReactor* InferenceService::GetServerStatus(
    grpc::CallbackServerContext* context, const v1::GetServerStatusRequest* request,
    v1::ServerStatus* response) {
  std::string key_name;
  if (absl::Status key = CheckKey(context, &key_name); !key.ok()) return Refuse(context, key, key_name);
  ToProto(engine_.CurrentStatus(), response);
  return FinishNow(context, grpc::Status::OK);
}

}  // namespace attnserve::server

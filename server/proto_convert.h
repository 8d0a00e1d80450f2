// Translation between the public proto (attnserve.v1) and the engine's plain request types
// (engine/request/request_types.h, engine/runtime/model_info.h). Pure functions: no I/O, no engine
// state beyond the tokenizer passed in, so they are safe to call from any gRPC thread.
#pragma once

#include <chrono>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "attnserve/v1/inference.pb.h"
#include "engine/runtime/engine.h"
#include "engine/runtime/model_info.h"
#include "engine/request/request_types.h"
#include "engine/tokenizer/tokenizer.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/status.h"
#include "server/chat_prompt.h"

namespace attnserve::server {

// Fills a GenerateSpec from the request, applying the proto's documented defaults (temperature 1,
// top_p 1, max_tokens 16, repetition_penalty 1, add/skip_special_tokens true; top_logprobs > 0
// implies logprobs) and tokenizing `prompt`. INVALID_ARGUMENT when both or neither of prompt /
// prompt_token_ids are given. Range checks are left to Engine::Validate. request_id and deadline
// are copied as given (the caller assigns them). `messages` are rendered with `chat` (null: the
// model has no chat template -> FAILED_PRECONDITION) and tokenized without special tokens; the
// template's end-of-turn tokens join stop_token_ids.
absl::StatusOr<GenerateSpec> ToGenerateSpec(const v1::GenerateRequest& request,
                                            const Tokenizer& tokenizer,
                                            const ChatPrompt* chat = nullptr);

// Same for Score: exactly one of token_ids / prompt (tokenized with add_special_tokens, default
// true).
absl::StatusOr<ScoreSpec> ToScoreSpec(const v1::ScoreRequest& request, const Tokenizer& tokenizer);

// Writes one streamed delta into `out` (cleared first). Top-logprob alternatives get their text
// from tokenizer.Decode of the single id (special tokens rendered). finish_reason / usage /
// stop_reason are set only on the final delta.
void ToProto(const GenerateDelta& delta, const std::string& request_id, const Tokenizer& tokenizer,
             v1::GenerateResponse* out);

// `token_ids` are the scored tokens (echoed so a client that sent a prompt sees its tokenization).
void ToProto(const ScoreResult& result, std::span<const int32_t> token_ids,
             v1::ScoreResponse* out);
void ToProto(const ModelInfo& info, v1::ModelInfo* out);
// kv_blocks_free = total - used (blocks holding only cached prefixes count as free).
void ToProto(const Engine::Status_& status, v1::ServerStatus* out);

v1::FinishReason ToProto(FinishReason reason);

// absl and gRPC share the canonical status codes, so this is a straight copy.
grpc::Status ToGrpcStatus(const absl::Status& status);
// For a Refusal with retry-after (engine/admission/refusal.h): trailing metadata `retry-after`
// (whole seconds, as HTTP's header) and `grpc-retry-pushback-ms` (gRPC's retry pushback). Call
// before the call finishes.
void AddRefusalTrailers(const absl::Status& status, grpc::ServerContextBase* context);

// A gRPC deadline (system clock; max() when the client set none) on the engine's steady clock.
Clock::time_point ToEngineDeadline(std::chrono::system_clock::time_point deadline);

}  // namespace attnserve::server

// The request mix of the soak test (attnserve-bench --soak): what each kind sends, how it is
// interrupted, and which final gRPC status codes are the expected ending for it.
//
//   kind            sends                                      interrupted by        ends with
//   normal          random ids, 4..64 tokens, ignore_eos       —                     OK (all tokens)
//   cancel          32..256 tokens                             TryCancel after 0..4 msgs  CANCELLED | OK
//   disconnect      64..256 tokens, own channel via a proxy    TCP reset after 1..3 msgs  UNAVAILABLE | OK
//   short_deadline  128..512 tokens                            deadline 1..250 ms    DEADLINE_EXCEEDED | OK |
//                                                                                    RESOURCE_EXHAUSTED (admission:
//                                                                                    queue wait > deadline)
//   oversized       prompt beyond the context / prompt + max_tokens beyond it /
//                   a text prompt of 2x the context / a message over the server's
//                   receive limit (SoakMix::over_limit_share of them)                                          INVALID_ARGUMENT |
//                                                                                    RESOURCE_EXHAUSTED (message)
//   malformed       one invalid field (temperature -1 or NaN, top_p 0, token id past
//                   the vocabulary, max_tokens 0, unknown attention backend, ...)    INVALID_ARGUMENT
//                   or raw bytes that are not a GenerateRequest, sent through
//                   grpc::GenericStub                                                UNIMPLEMENTED (gRPC's
//                                                                                    callback API; see below)
//
// gRPC C++ (1.51) answers a request message it cannot parse on a callback-API method with
// UNIMPLEMENTED and an empty message before any service code runs (the FinishOnlyReactor of
// grpcpp/impl/codegen/server_callback_handlers.h), so that is the expected ending of the raw-bytes
// sub-kinds only; on every other kind it is a failure.
//
// Everything is drawn from a seeded std::mt19937_64, so a slot's sequence of requests repeats.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "attnserve/v1/inference.pb.h"
#include "grpcpp/support/status.h"

namespace attnserve::bench {

enum class SoakKind { kNormal, kCancel, kDisconnect, kShortDeadline, kOversized, kMalformed };
inline constexpr int kNumSoakKinds = 6;
const char* SoakKindName(SoakKind kind);

// Fractions of each kind; normal gets the rest (1 - the sum, which must be <= 1).
struct SoakMix {
  double cancel = 0.2;
  double disconnect = 0.05;
  double short_deadline = 0.1;
  double oversized = 0.05;
  double malformed = 0.05;
  // Share of the oversized requests that exceed the daemon's receive limit instead of the context
  // (each sends a 64 MiB message; see docs/reliability.md for what that costs the daemon).
  double over_limit_share = 0.05;
};

// What the daemon's model and limits look like to the request builder.
struct SoakModelLimits {
  uint32_t vocab_size = 0;
  uint32_t max_context = 0;
  int32_t token_id_low = 0;   // random prompt ids from [low, high), clear of special tokens
  int32_t token_id_high = 1;
  uint64_t max_message_bytes = uint64_t{64} << 20;  // the daemon's gRPC receive limit
};

struct SoakRequest {
  SoakKind kind = SoakKind::kNormal;
  std::string variant;  // sub-kind, e.g. "temperature_nan", "raw_invalid_wire_type"
  v1::GenerateRequest request;
  std::shared_ptr<const v1::GenerateRequest> shared_request;  // the large over-limit message
  std::string raw_bytes;            // non-empty: send these bytes instead of `request`
  int cancel_after_messages = -1;   // >= 0: TryCancel once this many messages arrived
  int disconnect_after_messages = -1;  // >= 1: reset the connection after this many
  std::chrono::milliseconds deadline{0};  // > 0: the client deadline
  std::vector<grpc::StatusCode> expected;  // the codes that are a correct ending

  const v1::GenerateRequest& message() const { return shared_request ? *shared_request : request; }
  bool Expects(grpc::StatusCode code) const;
  // Greedy/seeded normal-shaped requests with ignore_eos that must stream exactly max_tokens
  // tokens when they end OK.
  bool ends_ok_with_all_tokens() const { return raw_bytes.empty() && kind != SoakKind::kOversized &&
                                                kind != SoakKind::kMalformed; }
};

class SoakRequestFactory {
 public:
  SoakRequestFactory(SoakMix mix, SoakModelLimits limits);

  // The next request of a slot; `serial` makes its request_id unique ("soak-<slot>-<serial>").
  SoakRequest Next(std::mt19937_64& rng, int slot, uint64_t serial) const;

  // Every invalid-field variant the malformed kind draws from (for the report and tests).
  static std::vector<std::string> MalformedVariants();

 private:
  SoakKind DrawKind(std::mt19937_64& rng) const;
  v1::GenerateRequest RandomIds(std::mt19937_64& rng, uint32_t min_prompt, uint32_t max_prompt,
                                uint32_t min_tokens, uint32_t max_tokens) const;
  void MakeOversized(std::mt19937_64& rng, SoakRequest* out) const;
  void MakeMalformed(std::mt19937_64& rng, SoakRequest* out) const;

  SoakMix mix_;
  SoakModelLimits limits_;
  std::shared_ptr<const v1::GenerateRequest> over_limit_;  // built once: ~64 MiB
};

}  // namespace attnserve::bench

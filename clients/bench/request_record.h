// RequestRecord: what the benchmark observed about one Generate call, on the client's clock.
//
//   scheduled ── (wait for a --max_concurrency slot) ── sent ── first token ── … ── done
//                                                       │<─ ttft ─>│<─ itl per token ─>│
//                                                       │<──────────── e2e ───────────>│
//
// The server may coalesce tokens: a message carrying k tokens, arriving `gap` after the previous
// token-carrying message, adds k inter-token samples of gap / k. Extra tokens in the first message
// are covered by TTFT and add no sample. Messages without tokens (the final usage) add nothing.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "attnserve/v1/inference.pb.h"
#include "grpcpp/support/status.h"

namespace attnserve::bench {

using Clock = std::chrono::steady_clock;

struct RequestRecord {
  Clock::time_point scheduled;    // when the arrival process released it
  Clock::time_point sent;         // when the call started
  Clock::time_point first_token;  // first message with tokens (valid when output_tokens > 0)
  Clock::time_point last_token;   // latest message with tokens
  Clock::time_point done;         // status received
  uint32_t output_tokens = 0;     // token ids received
  uint32_t num_messages = 0;      // messages received (with or without tokens)
  uint32_t prompt_tokens = 0;     // from the final message's usage (0 when none came)
  v1::FinishReason finish_reason = v1::FINISH_REASON_UNSPECIFIED;
  std::vector<double> itl_s;  // inter-token latencies, one per token after the first message
  grpc::Status status;
  bool completed = false;  // status received

  bool ok() const { return completed && status.ok(); }
  double ttft_s() const { return std::chrono::duration<double>(first_token - sent).count(); }
  double e2e_s() const { return std::chrono::duration<double>(done - sent).count(); }
  double client_wait_s() const { return std::chrono::duration<double>(sent - scheduled).count(); }
  // Mean time per output token after the first ((last - first) / (tokens - 1)); 0 if < 2 tokens.
  double tpot_s() const {
    return output_tokens < 2 ? 0.0
                             : std::chrono::duration<double>(last_token - first_token).count() /
                                   (output_tokens - 1);
  }

  // Folds one received message in (called as each message arrives).
  void OnMessage(Clock::time_point now, const v1::GenerateResponse& message) {
    ++num_messages;
    const uint32_t k = static_cast<uint32_t>(message.token_ids_size());
    if (message.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
      finish_reason = message.finish_reason();
      prompt_tokens = message.usage().prompt_tokens();
    }
    if (k == 0) return;
    if (output_tokens == 0) {
      first_token = now;
    } else {
      const double gap = std::chrono::duration<double>(now - last_token).count();
      itl_s.insert(itl_s.end(), k, gap / k);
    }
    last_token = now;
    output_tokens += k;
  }
};

}  // namespace attnserve::bench

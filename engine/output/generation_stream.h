// Folder engine/output/: what a request's logits become — sampling, stop strings and the generation
// stream that streams its text. Includes engine/request/, engine/tokenizer/.
//
// GenerationStream: the output side of one Generate request. Given the logits of its next
// position it samples a token, detokenizes incrementally, applies stop tokens / EOS / stop
// strings / max_tokens, and produces the delta to stream. Engine-thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "engine/request/request_types.h"
#include "engine/output/sampler.h"
#include "engine/output/stop_string_matcher.h"
#include "engine/tokenizer/tokenizer.h"

namespace attnserve {

class GenerationStream {
 public:
  // `eos_token_ids` end generation unless spec.ignore_eos.
  GenerationStream(const GenerateSpec& spec, const Tokenizer& tokenizer,
                   std::vector<int32_t> eos_token_ids);

  // logits f32[vocab_size] of the next position (modified). Returns the delta to stream;
  // delta.finish != kNone when the request is done. `token` receives the sampled id.
  GenerateDelta Advance(std::span<float> logits, int32_t& token);

  // The final delta for an externally ended request (cancel, deadline, shutdown).
  GenerateDelta Abort(FinishReason reason, absl::Status error);

  uint32_t completion_tokens() const { return completion_tokens_; }

 private:
  bool IsStopToken(int32_t token) const;

  const GenerateSpec& spec_;
  std::vector<int32_t> eos_token_ids_;
  Sampler sampler_;
  StreamingDecoder decoder_;
  StopStringMatcher stops_;
  uint32_t completion_tokens_ = 0;
};

}  // namespace attnserve

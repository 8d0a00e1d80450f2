// GenerationStream implementation.
#include "engine/output/generation_stream.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace attnserve {

GenerationStream::GenerationStream(const GenerateSpec& spec, const Tokenizer& tokenizer,
                                   std::vector<int32_t> eos_token_ids)
    : spec_(spec),
      eos_token_ids_(std::move(eos_token_ids)),
      sampler_(spec.sampling, spec.prompt_token_ids),
      decoder_(tokenizer, spec.skip_special_tokens),
      stops_(spec.stop) {}

bool GenerationStream::IsStopToken(int32_t token) const {
  auto has = [token](const std::vector<int32_t>& ids) {
    return std::find(ids.begin(), ids.end(), token) != ids.end();
  };
  return has(spec_.stop_token_ids) || (!spec_.ignore_eos && has(eos_token_ids_));
}

GenerateDelta GenerationStream::Advance(std::span<float> logits, int32_t& token) {
  GenerateDelta delta;
  const bool want_logprobs = spec_.logprobs || spec_.top_logprobs > 0;
  SampleResult sample = sampler_.Sample(logits, spec_.top_logprobs, want_logprobs);
  token = sample.token_id;
  ++completion_tokens_;
  delta.token_ids.push_back(token);
  if (want_logprobs) delta.logprobs.push_back({token, sample.logprob, std::move(sample.top)});

  if (IsStopToken(token)) {
    delta.finish = FinishReason::kStop;
    delta.stop_reason = absl::StrCat("token:", token);
  } else if (completion_tokens_ >= spec_.max_tokens) {
    delta.finish = FinishReason::kLength;
  }
  std::string text = decoder_.Push(token);
  if (delta.finish != FinishReason::kNone) text += decoder_.Flush();
  StopStringMatcher::Result matched = stops_.Push(text);
  delta.text = std::move(matched.text);
  if (matched.stop) {
    delta.finish = FinishReason::kStop;
    delta.stop_reason = *matched.stop;
  } else if (delta.finish != FinishReason::kNone) {
    delta.text += stops_.Flush();
  }
  delta.prompt_tokens = static_cast<uint32_t>(spec_.prompt_token_ids.size());
  delta.completion_tokens = completion_tokens_;
  return delta;
}

GenerateDelta GenerationStream::Abort(FinishReason reason, absl::Status error) {
  GenerateDelta delta;
  delta.finish = reason;
  delta.error = std::move(error);
  if (reason != FinishReason::kError) {
    StopStringMatcher::Result matched = stops_.Push(decoder_.Flush());
    delta.text = matched.text + (matched.stop ? "" : stops_.Flush());
  }
  delta.prompt_tokens = static_cast<uint32_t>(spec_.prompt_token_ids.size());
  delta.completion_tokens = completion_tokens_;
  return delta;
}

}  // namespace attnserve

// RequestPlanner: turns a request's attention choice and context policy into the immutable plans
// it runs with, against the deployment defaults (--attention, --context_policy) resolved once at
// load. Checks the length the request may reach against its policy's limit; the `sinks` policy
// brings its StreamingLLM attention (the request may then not choose another). Thread-safe
// (const after construction): Submit* call it from any thread.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "engine/attention/attention_choice.h"
#include "engine/attention/attention_plan.h"
#include "engine/context/context_policy.h"
#include "engine/config/model_config.h"

namespace attnserve {

struct RequestPlans {
  std::shared_ptr<const AttentionPlan> attention;
  std::shared_ptr<const ContextPlan> context;
};

class RequestPlanner {
 public:
  // `config` must outlive the planner. Fails (naming the flag) when a default does not resolve.
  static absl::StatusOr<RequestPlanner> Create(const ModelConfig* config, const AttentionChoice& default_attention,
                                               const ContextPolicyChoice& default_context, int64_t block_size,
                                               int64_t max_model_len);

  // `prompt_len` tokens now, `total_len` = the most the request may reach (prompt + max_tokens).
  absl::StatusOr<RequestPlans> Resolve(const AttentionChoice& attention, const ContextPolicyChoice& context,
                                       int64_t prompt_len, int64_t total_len) const;

  const AttentionPlan& default_attention() const { return *default_attention_; }
  const ContextPlan& default_context() const { return *default_context_; }

 private:
  absl::StatusOr<std::shared_ptr<const AttentionPlan>> ResolveAttentionFor(const AttentionChoice& choice,
                                                                           int64_t prompt_len) const;

  const ModelConfig* config_ = nullptr;
  AttentionChoice default_attention_choice_;
  std::shared_ptr<const AttentionPlan> default_attention_;
  std::shared_ptr<const ContextPlan> default_context_;
  int64_t block_size_ = 16;
  int64_t max_model_len_ = 0;
};

}  // namespace attnserve

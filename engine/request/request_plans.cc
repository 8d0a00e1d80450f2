// RequestPlanner implementation (see request_plans.h).
#include "engine/request/request_plans.h"

#include "absl/strings/str_cat.h"
#include "engine/attention/attention_registry.h"

namespace attnserve {

absl::StatusOr<RequestPlanner> RequestPlanner::Create(const ModelConfig* config, const AttentionChoice& attention,
                                                      const ContextPolicyChoice& context, int64_t block_size,
                                                      int64_t max_model_len) {
  RequestPlanner p;
  p.config_ = config;
  p.default_attention_choice_ = attention;
  p.block_size_ = block_size;
  p.max_model_len_ = max_model_len;
  absl::StatusOr<std::shared_ptr<const AttentionPlan>> a = ResolveAttention(attention, {config, block_size, 0});
  if (!a.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--attention=", FormatAttentionChoice(attention), ": ", a.status().message()));
  }
  p.default_attention_ = *std::move(a);
  absl::StatusOr<std::shared_ptr<const ContextPlan>> c = ResolveContextPolicy(context, {config, max_model_len});
  if (!c.ok()) return absl::InvalidArgumentError(absl::StrCat("--context_policy: ", c.status().message()));
  p.default_context_ = *std::move(c);
  return p;
}

absl::StatusOr<std::shared_ptr<const AttentionPlan>> RequestPlanner::ResolveAttentionFor(const AttentionChoice& choice,
                                                                                         int64_t prompt_len) const {
  if (choice.empty()) {
    // The deployment default; only Longformer's global tokens depend on the prompt.
    if (default_attention_choice_.backend != "longformer") return default_attention_;
    return ResolveAttention(default_attention_choice_, {config_, block_size_, prompt_len});
  }
  return ResolveAttention(choice, {config_, block_size_, prompt_len});
}

absl::StatusOr<RequestPlans> RequestPlanner::Resolve(const AttentionChoice& attention,
                                                     const ContextPolicyChoice& context, int64_t prompt_len,
                                                     int64_t total_len) const {
  RequestPlans plans;
  if (context.empty()) {
    plans.context = default_context_;
  } else {
    absl::StatusOr<std::shared_ptr<const ContextPlan>> c = ResolveContextPolicy(context, {config_, max_model_len_});
    if (!c.ok()) return c.status();
    plans.context = *std::move(c);
  }
  const ContextPlan& policy = *plans.context;
  if (total_len > policy.max_length) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request reaches ", total_len, " tokens, beyond the ", policy.max_length,
        " its context policy allows (", policy.limit_source,
        "); choose a context_policy that extends it (e.g. yarn, dynamic_ntk, none) within --max_model_len ",
        max_model_len_));
  }
  AttentionChoice attention_choice = attention;
  if (policy.sink_tokens > 0 || policy.window > 0) {
    if (!attention.empty()) {
      return absl::InvalidArgumentError(
          "context_policy.kind \"sinks\" sets the attention (sinks + window); leave attention unset");
    }
    attention_choice.backend = "sinks";
    attention_choice.sink_tokens = policy.sink_tokens;
    attention_choice.window = policy.window;
  }
  absl::StatusOr<std::shared_ptr<const AttentionPlan>> a = ResolveAttentionFor(attention_choice, prompt_len);
  if (!a.ok()) return a.status();
  plans.attention = *std::move(a);
  return plans;
}

}  // namespace attnserve

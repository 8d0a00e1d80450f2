// Proto <-> engine type translation (see proto_convert.h).
#include "server/proto_convert.h"

#include <cmath>
#include <optional>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/admission/refusal.h"

namespace attnserve::server {
namespace {

SamplingParams ToSamplingParams(const v1::SamplingParams& p) {
  SamplingParams s;
  s.temperature = p.has_temperature() ? p.temperature() : 1.0f;
  s.top_p = p.has_top_p() ? p.top_p() : 1.0f;
  s.top_k = p.top_k();
  s.min_p = p.min_p();
  if (p.has_seed()) s.seed = p.seed();
  s.repetition_penalty = p.has_repetition_penalty() ? p.repetition_penalty() : 1.0f;
  s.presence_penalty = p.presence_penalty();
  s.frequency_penalty = p.frequency_penalty();
  s.logit_bias.assign(p.logit_bias().begin(), p.logit_bias().end());
  std::sort(s.logit_bias.begin(), s.logit_bias.end());  // proto maps have no order
  return s;
}

// Exactly one of a text prompt / explicit ids; `text_field` and `ids_field` name them in errors.
absl::StatusOr<std::vector<int32_t>> PromptIds(const std::string& text,
                                               const google::protobuf::RepeatedField<int32_t>& ids,
                                               bool add_special_tokens, const Tokenizer& tokenizer,
                                               const char* text_field, const char* ids_field) {
  const bool has_text = !text.empty();
  const bool has_ids = !ids.empty();
  if (has_text && has_ids) {
    return absl::InvalidArgumentError(
        std::string(text_field) + " and " + ids_field + " are both set; give exactly one");
  }
  if (!has_text && !has_ids) {
    return absl::InvalidArgumentError(std::string(text_field) + " is empty and " + ids_field +
                                      " is empty; give exactly one");
  }
  if (has_ids) return std::vector<int32_t>(ids.begin(), ids.end());
  return tokenizer.Encode(text, add_special_tokens);
}

AttentionChoice ToAttentionChoice(const v1::AttentionConfig& a) {
  AttentionChoice c;
  c.backend = a.backend();
  if (a.has_window()) c.window = a.window();
  if (a.has_sink_tokens()) c.sink_tokens = a.sink_tokens();
  if (a.has_segment_length()) c.segment_length = a.segment_length();
  if (a.has_memory_segments()) c.memory_segments = a.memory_segments();
  if (a.has_global_tokens()) c.global_tokens = a.global_tokens();
  c.global_positions.assign(a.global_positions().begin(), a.global_positions().end());
  if (a.has_block_size()) c.block_size = a.block_size();
  if (a.has_window_blocks()) c.window_blocks = a.window_blocks();
  if (a.has_global_blocks()) c.global_blocks = a.global_blocks();
  if (a.has_random_blocks()) c.random_blocks = a.random_blocks();
  if (a.has_seed()) c.seed = a.seed();
  if (a.has_top_k_blocks()) c.top_k_blocks = a.top_k_blocks();
  if (a.has_num_features()) c.num_features = a.num_features();
  if (a.has_full_every()) c.full_every = a.full_every();
  return c;
}

ContextPolicyChoice ToContextPolicyChoice(const v1::ContextPolicy& p) {
  ContextPolicyChoice c;
  c.kind = p.kind();
  if (p.has_factor()) c.factor = p.factor();
  if (p.has_original_max_position_embeddings()) c.original_max_position_embeddings = p.original_max_position_embeddings();
  if (p.has_beta_fast()) c.beta_fast = p.beta_fast();
  if (p.has_beta_slow()) c.beta_slow = p.beta_slow();
  if (p.has_attention_factor()) c.attention_factor = p.attention_factor();
  if (p.has_low_freq_factor()) c.low_freq_factor = p.low_freq_factor();
  if (p.has_high_freq_factor()) c.high_freq_factor = p.high_freq_factor();
  c.short_factor.assign(p.short_factor().begin(), p.short_factor().end());
  c.long_factor.assign(p.long_factor().begin(), p.long_factor().end());
  if (p.has_sink_tokens()) c.sink_tokens = p.sink_tokens();
  if (p.has_window()) c.window = p.window();
  if (p.has_truncate()) c.truncate = p.truncate();
  return c;
}

// GenerateRequest.messages through the chat template.
absl::StatusOr<RenderedChat> RenderMessages(const v1::GenerateRequest& request, const ChatPrompt* chat) {
  if (!request.prompt().empty() || request.prompt_token_ids_size() > 0) {
    return absl::InvalidArgumentError("messages and prompt / prompt_token_ids are both set; give one");
  }
  if (chat == nullptr) {
    return absl::FailedPreconditionError(
        "messages: this model has no chat template (tokenizer_config.json chat_template or "
        "chat_template.jinja); send prompt, or start the server with --chat_template=FILE");
  }
  absl::StatusOr<nlohmann::ordered_json> messages = ChatMessagesFromProto(request.messages());
  if (!messages.ok()) return messages.status();
  auto parse = [](const std::string& text, const char* field, bool want_array)
      -> absl::StatusOr<nlohmann::ordered_json> {
    if (text.empty()) return nlohmann::ordered_json();
    nlohmann::ordered_json v = nlohmann::ordered_json::parse(text, nullptr, false);
    if (v.is_discarded() || (want_array ? !v.is_array() : !v.is_object())) {
      return absl::InvalidArgumentError(absl::StrCat(field, " must be a JSON ", want_array ? "array" : "object"));
    }
    return v;
  };
  absl::StatusOr<nlohmann::ordered_json> tools = parse(request.tools_json(), "tools_json", true);
  if (!tools.ok()) return tools.status();
  absl::StatusOr<nlohmann::ordered_json> extra =
      parse(request.chat_template_kwargs_json(), "chat_template_kwargs_json", false);
  if (!extra.ok()) return extra.status();
  return chat->Render(*messages, *tools, request.has_add_generation_prompt() ? request.add_generation_prompt() : true,
                      *extra);
}

}  // namespace

absl::StatusOr<GenerateSpec> ToGenerateSpec(const v1::GenerateRequest& request,
                                            const Tokenizer& tokenizer, const ChatPrompt* chat) {
  GenerateSpec spec;
  if (request.messages_size() > 0) {
    absl::StatusOr<RenderedChat> rendered = RenderMessages(request, chat);
    if (!rendered.ok()) return rendered.status();
    spec.prompt_token_ids = std::move(rendered->token_ids);
    spec.stop_token_ids = std::move(rendered->stop_token_ids);
  } else {
    const bool add_special = request.has_add_special_tokens() ? request.add_special_tokens() : true;
    auto ids = PromptIds(request.prompt(), request.prompt_token_ids(), add_special, tokenizer,
                         "prompt", "prompt_token_ids");
    if (!ids.ok()) return ids.status();
    spec.prompt_token_ids = *std::move(ids);
  }
  spec.request_id = request.request_id();
  spec.max_tokens = request.has_max_tokens() ? request.max_tokens() : 16;
  spec.sampling = ToSamplingParams(request.sampling());
  spec.stop.assign(request.stop().begin(), request.stop().end());
  spec.stop_token_ids.insert(spec.stop_token_ids.end(), request.stop_token_ids().begin(),
                             request.stop_token_ids().end());
  spec.ignore_eos = request.ignore_eos();
  spec.top_logprobs = request.top_logprobs();
  spec.logprobs = request.logprobs() || request.top_logprobs() > 0;
  spec.priority = request.priority();
  spec.skip_special_tokens =
      request.has_skip_special_tokens() ? request.skip_special_tokens() : true;
  spec.attention = ToAttentionChoice(request.attention());
  spec.context_policy = ToContextPolicyChoice(request.context_policy());
  return spec;
}

absl::StatusOr<ScoreSpec> ToScoreSpec(const v1::ScoreRequest& request, const Tokenizer& tokenizer) {
  ScoreSpec spec;
  const bool add_special = request.has_add_special_tokens() ? request.add_special_tokens() : true;
  auto ids = PromptIds(request.prompt(), request.token_ids(), add_special, tokenizer, "prompt",
                       "token_ids");
  if (!ids.ok()) return ids.status();
  spec.token_ids = *std::move(ids);
  spec.return_logits = request.return_logits();
  spec.attention = ToAttentionChoice(request.attention());
  spec.context_policy = ToContextPolicyChoice(request.context_policy());
  return spec;
}

v1::FinishReason ToProto(FinishReason reason) {
  switch (reason) {
    case FinishReason::kNone: return v1::FINISH_REASON_UNSPECIFIED;
    case FinishReason::kStop: return v1::STOP;
    case FinishReason::kLength: return v1::LENGTH;
    case FinishReason::kCancelled: return v1::CANCELLED;
    case FinishReason::kError: return v1::ERROR;
  }
  return v1::FINISH_REASON_UNSPECIFIED;
}

void ToProto(const GenerateDelta& delta, const std::string& request_id, const Tokenizer& tokenizer,
             v1::GenerateResponse* out) {
  out->Clear();
  out->set_request_id(request_id);
  out->mutable_token_ids()->Add(delta.token_ids.begin(), delta.token_ids.end());
  out->set_text(delta.text);
  for (const TokenLogprob& lp : delta.logprobs) {
    v1::TokenLogprob* p = out->add_logprobs();
    p->set_token_id(lp.token_id);
    p->set_logprob(lp.logprob);
    for (const TopLogprob& top : lp.top) {
      v1::TopLogprob* t = p->add_top_logprobs();
      t->set_token_id(top.token_id);
      t->set_logprob(top.logprob);
      const int32_t id = top.token_id;
      t->set_text(tokenizer.Decode(std::span<const int32_t>(&id, 1), /*skip_special_tokens=*/false));
    }
  }
  if (delta.finish != FinishReason::kNone) {
    out->set_finish_reason(ToProto(delta.finish));
    out->set_stop_reason(delta.stop_reason);
    out->mutable_usage()->set_prompt_tokens(delta.prompt_tokens);
    out->mutable_usage()->set_completion_tokens(delta.completion_tokens);
  }
}

void ToProto(const ScoreResult& result, std::span<const int32_t> token_ids,
             v1::ScoreResponse* out) {
  out->Clear();
  out->mutable_token_logprobs()->Add(result.token_logprobs.begin(), result.token_logprobs.end());
  out->mutable_logits()->Add(result.logits.begin(), result.logits.end());
  out->set_vocab_size(static_cast<uint32_t>(result.vocab_size));
  out->mutable_token_ids()->Add(token_ids.begin(), token_ids.end());
}

void ToProto(const ModelInfo& info, v1::ModelInfo* out) {
  out->Clear();
  out->set_model_path(info.model_path);
  out->set_served_model_name(info.served_model_name);
  out->set_architecture(info.architecture);
  out->set_vocab_size(info.vocab_size);
  out->set_max_context(info.max_context);
  out->set_num_layers(info.num_layers);
  out->set_hidden_size(info.hidden_size);
  out->set_num_attention_heads(info.num_attention_heads);
  out->set_num_key_value_heads(info.num_key_value_heads);
  out->set_head_dim(info.head_dim);
  for (const LayerDescription& layer : info.layers) {
    v1::LayerInfo* l = out->add_layers();
    l->set_index(layer.index);
    l->set_mixer(layer.mixer);
    l->set_attention_backend(layer.attention_backend);
    l->set_memory_kind(layer.memory_kind);
    l->set_mlp(layer.mlp);
    l->set_sliding_window(layer.sliding_window);
  }
  for (const std::string& b : info.attention_backends) out->add_attention_backends(b);
  for (const AttentionBackendSummary& b : info.attention_backend_info) {
    v1::AttentionBackendInfo* a = out->add_attention_backend_info();
    a->set_name(b.name);
    a->set_family(b.family);
    a->set_memory_kind(b.memory_kind);
    a->set_description(b.description);
    a->set_complexity(b.complexity);
    for (const std::string& p : b.parameters) a->add_parameters(p);
  }
  out->set_default_attention(info.default_attention);
  for (const std::string& k : info.context_policies) out->add_context_policies(k);
  out->set_default_context_policy(info.default_context_policy);
  out->set_trained_context(static_cast<uint32_t>(std::min<int64_t>(info.trained_context, UINT32_MAX)));
  out->set_num_active_parameters(info.num_active_parameters);
  out->set_num_experts(info.num_experts);
  out->set_num_experts_per_token(info.num_experts_per_token);
  out->set_kv_cache_bytes_per_token(static_cast<uint64_t>(info.kv_cache_bytes_per_token));
  out->set_recurrent_state_bytes_per_sequence(static_cast<uint64_t>(info.recurrent_state_bytes_per_sequence));
  for (size_t s = 0; s < info.expert_placement.size(); ++s) {
    v1::ExpertShard* shard = out->add_expert_shards();
    shard->set_shard(static_cast<uint32_t>(s));
    for (int32_t e : info.expert_placement[s]) shard->add_experts(static_cast<uint32_t>(e));
  }
  out->set_weights_dtype(info.weights_dtype);
  out->set_compute_dtype(info.compute_dtype);
  out->set_matrix_dtype(info.matrix_dtype);
  out->set_bos_token_id(info.bos_token_id);
  out->mutable_eos_token_ids()->Add(info.eos_token_ids.begin(), info.eos_token_ids.end());
  out->set_rope_theta(info.rope_theta);
  out->set_num_parameters(info.num_parameters);
  out->set_backend(info.backend);
}

void ToProto(const Engine::Status_& status, v1::ServerStatus* out) {
  auto count = [](int64_t n) { return static_cast<uint64_t>(std::max<int64_t>(n, 0)); };
  out->Clear();
  out->set_num_requests_running(static_cast<uint32_t>(count(status.num_running)));
  out->set_num_requests_waiting(static_cast<uint32_t>(count(status.num_waiting)));
  out->set_kv_cache_usage_ratio(status.kv_usage_ratio);
  out->set_kv_blocks_total(count(status.kv_blocks_total));
  out->set_kv_blocks_free(count(status.kv_blocks_total - status.kv_blocks_used));
  out->set_kv_blocks_cached(count(status.kv_blocks_cached));
  out->set_block_size(static_cast<uint32_t>(std::max(status.block_size, 0)));
  out->set_kv_tokens_stored(count(status.kv_tokens_stored));
  out->set_generation_tokens_per_second(status.generation_tokens_per_second);
  out->set_prompt_tokens_per_second(status.prompt_tokens_per_second);
  out->set_num_preemptions_total(count(status.num_preemptions_total));
  out->set_prefix_cache_queries_total(count(status.prefix_cache_queries_total));
  out->set_prefix_cache_hits_total(count(status.prefix_cache_hits_total));
  out->set_tokens_computed_total(count(status.tokens_computed_total));
  out->set_draining(status.draining);
  out->set_recurrent_state_slots_total(static_cast<uint32_t>(count(status.state_slots_total)));
  out->set_recurrent_state_slots_used(static_cast<uint32_t>(count(status.state_slots_used)));
  for (int64_t n : status.shard_tokens_total) out->add_expert_shard_tokens_total(count(n));
  out->set_expert_shard_imbalance(status.shard_imbalance);
  for (size_t l = 0; l < status.expert_tokens_total.size(); ++l) {
    if (status.expert_tokens_total[l].empty()) continue;  // dense layer
    v1::LayerExpertTokens* layer = out->add_expert_tokens_total();
    layer->set_layer(static_cast<uint32_t>(l));
    for (int64_t n : status.expert_tokens_total[l]) layer->add_tokens(count(n));
  }
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

void AddRefusalTrailers(const absl::Status& status, grpc::ServerContextBase* context) {
  const std::optional<double> retry_after_s = RetryAfterSeconds(status);
  if (!retry_after_s || context == nullptr) return;
  const int64_t ms = static_cast<int64_t>(std::ceil(*retry_after_s * 1000));
  context->AddTrailingMetadata("retry-after", std::to_string((ms + 999) / 1000));
  context->AddTrailingMetadata("grpc-retry-pushback-ms", std::to_string(ms));
}

Clock::time_point ToEngineDeadline(std::chrono::system_clock::time_point deadline) {
  if (deadline == std::chrono::system_clock::time_point::max()) return Clock::time_point::max();
  const auto remaining = deadline - std::chrono::system_clock::now();
  // Far-future deadlines (years) would overflow the steady clock arithmetic; treat them as none.
  if (remaining > std::chrono::hours(24 * 365)) return Clock::time_point::max();
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(remaining);
}

}  // namespace attnserve::server

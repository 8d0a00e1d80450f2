// Soak request mix (see soak_requests.h).
#include "clients/bench/soak_requests.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace attnserve::bench {
namespace {

using grpc::StatusCode;

uint32_t Uniform(std::mt19937_64& rng, uint32_t low, uint32_t high) {
  return std::uniform_int_distribution<uint32_t>(low, std::max(low, high))(rng);
}

// Invalid-field variants: each breaks exactly one field of a valid small request.
struct MalformedVariant {
  const char* name;
  void (*apply)(const SoakModelLimits& limits, v1::GenerateRequest* r);
};

const MalformedVariant kMalformedVariants[] = {
    {"temperature_negative", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_temperature(-1.0f);
     }},
    {"temperature_nan", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_temperature(std::numeric_limits<float>::quiet_NaN());
     }},
    {"temperature_inf", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_temperature(std::numeric_limits<float>::infinity());
     }},
    {"top_p_zero", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_top_p(0.0f);
     }},
    {"top_p_above_one", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_top_p(1.5f);
     }},
    {"top_k_below_minus_one", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_top_k(-5);
     }},
    {"min_p_above_one", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_min_p(2.0f);
     }},
    {"repetition_penalty_zero", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_repetition_penalty(0.0f);
     }},
    {"presence_penalty_out_of_range", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_presence_penalty(3.0f);
     }},
    {"frequency_penalty_out_of_range", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_sampling()->set_frequency_penalty(-3.0f);
     }},
    {"token_id_past_vocab", [](const SoakModelLimits& l, v1::GenerateRequest* r) {
       r->set_prompt_token_ids(r->prompt_token_ids_size() / 2, static_cast<int32_t>(l.vocab_size) + 7);
     }},
    {"token_id_negative", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->set_prompt_token_ids(0, -1);
     }},
    {"max_tokens_zero", [](const SoakModelLimits&, v1::GenerateRequest* r) { r->set_max_tokens(0); }},
    {"top_logprobs_over_limit", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->set_top_logprobs(21);
     }},
    {"logit_bias_id_past_vocab", [](const SoakModelLimits& l, v1::GenerateRequest* r) {
       (*r->mutable_sampling()->mutable_logit_bias())[static_cast<int32_t>(l.vocab_size)] = 1.0f;
     }},
    {"logit_bias_value_out_of_range", [](const SoakModelLimits& l, v1::GenerateRequest* r) {
       (*r->mutable_sampling()->mutable_logit_bias())[l.token_id_low] = 1000.0f;
     }},
    {"stop_token_id_past_vocab", [](const SoakModelLimits& l, v1::GenerateRequest* r) {
       r->add_stop_token_ids(static_cast<int32_t>(l.vocab_size) + 1);
     }},
    {"empty_prompt", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->clear_prompt_token_ids();
     }},
    {"prompt_and_ids_both_set", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->set_prompt("In the beginning");
     }},
    {"attention_unknown_backend", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_attention()->set_backend("no_such_backend");
     }},
    {"attention_negative_window", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_attention()->set_backend("sliding_window");
       r->mutable_attention()->set_window(-4);
     }},
    {"context_policy_unknown_kind", [](const SoakModelLimits&, v1::GenerateRequest* r) {
       r->mutable_context_policy()->set_kind("no_such_policy");
     }},
};

// Raw payloads that are no GenerateRequest: protobuf's parser refuses each of them.
std::string RawPayload(std::mt19937_64& rng, std::string* variant) {
  std::string bytes;
  switch (Uniform(rng, 0, 3)) {
    case 0:  // a tag with wire type 7 (there is none) first
      *variant = "raw_invalid_wire_type";
      bytes.push_back(static_cast<char>((Uniform(rng, 1, 15) << 3) | 7));
      break;
    case 1:  // field 2 (prompt), length-delimited, claiming 100 bytes but carrying 3
      *variant = "raw_truncated_field";
      bytes = std::string("\x12\x64", 2) + "abc";
      return bytes;
    case 2:  // prompt (proto3 string) holding bytes that are not UTF-8
      *variant = "raw_invalid_utf8_prompt";
      return std::string("\x12\x04\xff\xfe\xfd\xfc", 6);
    default:  // a tag with wire type 6 (there is none) followed by noise
      *variant = "raw_noise_after_bad_tag";
      bytes.push_back(static_cast<char>((Uniform(rng, 1, 15) << 3) | 6));
      break;
  }
  const uint32_t noise = Uniform(rng, 0, 64);
  for (uint32_t i = 0; i < noise; ++i) bytes.push_back(static_cast<char>(Uniform(rng, 0, 255)));
  return bytes;
}

}  // namespace

const char* SoakKindName(SoakKind kind) {
  switch (kind) {
    case SoakKind::kNormal: return "normal";
    case SoakKind::kCancel: return "cancel";
    case SoakKind::kDisconnect: return "disconnect";
    case SoakKind::kShortDeadline: return "short_deadline";
    case SoakKind::kOversized: return "oversized";
    case SoakKind::kMalformed: return "malformed";
  }
  return "?";
}

bool SoakRequest::Expects(grpc::StatusCode code) const {
  return std::find(expected.begin(), expected.end(), code) != expected.end();
}

SoakRequestFactory::SoakRequestFactory(SoakMix mix, SoakModelLimits limits)
    : mix_(mix), limits_(limits) {
  if (mix_.oversized > 0 && mix_.over_limit_share > 0) {
    auto big = std::make_shared<v1::GenerateRequest>();
    big->set_request_id("soak-over-limit");
    big->set_prompt(std::string(limits_.max_message_bytes + 1, 'a'));
    big->set_max_tokens(1);
    over_limit_ = std::move(big);
  }
}

std::vector<std::string> SoakRequestFactory::MalformedVariants() {
  std::vector<std::string> names;
  for (const MalformedVariant& v : kMalformedVariants) names.push_back(v.name);
  return names;
}

SoakKind SoakRequestFactory::DrawKind(std::mt19937_64& rng) const {
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  const std::pair<SoakKind, double> weights[] = {
      {SoakKind::kCancel, mix_.cancel},         {SoakKind::kDisconnect, mix_.disconnect},
      {SoakKind::kShortDeadline, mix_.short_deadline}, {SoakKind::kOversized, mix_.oversized},
      {SoakKind::kMalformed, mix_.malformed}};
  for (const auto& [kind, weight] : weights) {
    if (u < weight) return kind;
    u -= weight;
  }
  return SoakKind::kNormal;
}

v1::GenerateRequest SoakRequestFactory::RandomIds(std::mt19937_64& rng, uint32_t min_prompt,
                                                  uint32_t max_prompt, uint32_t min_tokens,
                                                  uint32_t max_tokens) const {
  v1::GenerateRequest r;
  const uint32_t prompt_len = std::min(Uniform(rng, min_prompt, max_prompt), limits_.max_context / 2);
  std::uniform_int_distribution<int32_t> id(limits_.token_id_low,
                                            std::max(limits_.token_id_low, limits_.token_id_high - 1));
  for (uint32_t i = 0; i < std::max(prompt_len, 1u); ++i) r.add_prompt_token_ids(id(rng));
  const uint32_t room = limits_.max_context - static_cast<uint32_t>(r.prompt_token_ids_size());
  r.set_max_tokens(std::max(1u, std::min(Uniform(rng, min_tokens, max_tokens), room)));
  r.set_ignore_eos(true);
  if (Uniform(rng, 0, 1) == 0) {
    r.mutable_sampling()->set_temperature(0);
  } else {
    r.mutable_sampling()->set_temperature(0.8f);
    r.mutable_sampling()->set_seed(rng());
  }
  if (Uniform(rng, 0, 3) == 0) r.set_top_logprobs(Uniform(rng, 0, 5));
  return r;
}

void SoakRequestFactory::MakeOversized(std::mt19937_64& rng, SoakRequest* out) const {
  out->expected = {StatusCode::INVALID_ARGUMENT};
  if (over_limit_ != nullptr &&
      std::uniform_real_distribution<double>(0.0, 1.0)(rng) < mix_.over_limit_share) {
    out->variant = "message_over_receive_limit";
    out->shared_request = over_limit_;
    out->expected = {StatusCode::RESOURCE_EXHAUSTED};
    return;
  }
  std::uniform_int_distribution<int32_t> id(limits_.token_id_low,
                                            std::max(limits_.token_id_low, limits_.token_id_high - 1));
  v1::GenerateRequest& r = out->request;
  switch (Uniform(rng, 0, 2)) {
    case 0:
      out->variant = "prompt_beyond_context";
      for (uint32_t i = 0, n = limits_.max_context + Uniform(rng, 1, 64); i < n; ++i) {
        r.add_prompt_token_ids(id(rng));
      }
      r.set_max_tokens(1);
      break;
    case 1:
      out->variant = "prompt_plus_max_tokens_beyond_context";
      for (uint32_t i = 0, n = Uniform(rng, 8, 64); i < n; ++i) r.add_prompt_token_ids(id(rng));
      r.set_max_tokens(limits_.max_context);
      break;
    default: {
      // Every space-separated word is at least one token: 2x the context in words is beyond it.
      out->variant = "text_prompt_beyond_context";
      std::string text;
      for (uint32_t w = 0; w < 2 * limits_.max_context; ++w) {
        text += ' ';
        for (uint32_t c = 0, n = Uniform(rng, 3, 7); c < n; ++c) {
          text.push_back(static_cast<char>('a' + Uniform(rng, 0, 25)));
        }
      }
      r.set_prompt(std::move(text));
      r.set_max_tokens(1);
      break;
    }
  }
}

void SoakRequestFactory::MakeMalformed(std::mt19937_64& rng, SoakRequest* out) const {
  if (Uniform(rng, 0, 2) == 0) {
    out->raw_bytes = RawPayload(rng, &out->variant);
    out->expected = {StatusCode::UNIMPLEMENTED};
    return;
  }
  const MalformedVariant& v = kMalformedVariants[Uniform(rng, 0, std::size(kMalformedVariants) - 1)];
  out->variant = v.name;
  out->request = RandomIds(rng, 4, 16, 1, 8);
  v.apply(limits_, &out->request);
  out->expected = {StatusCode::INVALID_ARGUMENT};
}

SoakRequest SoakRequestFactory::Next(std::mt19937_64& rng, int slot, uint64_t serial) const {
  SoakRequest out;
  out.kind = DrawKind(rng);
  switch (out.kind) {
    case SoakKind::kNormal:
      out.variant = "stream";
      out.request = RandomIds(rng, 8, 128, 4, 64);
      out.expected = {StatusCode::OK};
      break;
    case SoakKind::kCancel:
      out.cancel_after_messages = static_cast<int>(Uniform(rng, 0, 4));
      out.variant = out.cancel_after_messages == 0 ? "before_first_message" : "mid_stream";
      out.request = RandomIds(rng, 8, 128, 32, 256);
      out.expected = {StatusCode::CANCELLED, StatusCode::OK};
      break;
    case SoakKind::kDisconnect:
      out.variant = "tcp_reset_mid_stream";
      out.disconnect_after_messages = static_cast<int>(Uniform(rng, 1, 3));
      out.request = RandomIds(rng, 8, 128, 64, 256);
      out.expected = {StatusCode::UNAVAILABLE, StatusCode::OK};
      break;
    case SoakKind::kShortDeadline:
      out.variant = "client_deadline";
      out.deadline = std::chrono::milliseconds(Uniform(rng, 1, 250));
      out.request = RandomIds(rng, 8, 128, 128, 512);
      // RESOURCE_EXHAUSTED: admission refuses a deadline shorter than the estimated queue wait.
      out.expected = {StatusCode::DEADLINE_EXCEEDED, StatusCode::OK, StatusCode::RESOURCE_EXHAUSTED};
      break;
    case SoakKind::kOversized:
      MakeOversized(rng, &out);
      break;
    case SoakKind::kMalformed:
      MakeMalformed(rng, &out);
      break;
  }
  if (!out.shared_request) out.request.set_request_id(absl::StrCat("soak-", slot, "-", serial));
  return out;
}

}  // namespace attnserve::bench

// ContextPolicy parsing and resolution (see context_policy.h).
#include "engine/context/context_policy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace attnserve {
namespace {

absl::Status Invalid(const std::string& field, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("context_policy.", field, " ", what));
}

// Which fields each kind takes (kind itself excluded).
const std::vector<std::string>& FieldsOf(const std::string& kind) {
  static const std::vector<std::string> none, linear{"factor"}, ntk{"factor", "original_max_position_embeddings"},
      dynamic{"factor"},
      yarn{"factor", "original_max_position_embeddings", "beta_fast", "beta_slow", "attention_factor", "truncate"},
      llama3{"factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor"},
      longrope{"factor", "original_max_position_embeddings", "short_factor", "long_factor", "attention_factor"},
      sinks{"sink_tokens", "window"};
  if (kind == "linear") return linear;
  if (kind == "ntk") return ntk;
  if (kind == "dynamic_ntk") return dynamic;
  if (kind == "yarn") return yarn;
  if (kind == "llama3") return llama3;
  if (kind == "longrope") return longrope;
  if (kind == "sinks") return sinks;
  return none;
}

std::vector<std::string> SetFields(const ContextPolicyChoice& c) {
  std::vector<std::string> set;
  auto add = [&](bool present, const char* name) {
    if (present) set.emplace_back(name);
  };
  add(c.factor.has_value(), "factor");
  add(c.original_max_position_embeddings.has_value(), "original_max_position_embeddings");
  add(c.beta_fast.has_value(), "beta_fast");
  add(c.beta_slow.has_value(), "beta_slow");
  add(c.attention_factor.has_value(), "attention_factor");
  add(c.low_freq_factor.has_value(), "low_freq_factor");
  add(c.high_freq_factor.has_value(), "high_freq_factor");
  add(!c.short_factor.empty(), "short_factor");
  add(!c.long_factor.empty(), "long_factor");
  add(c.sink_tokens.has_value(), "sink_tokens");
  add(c.window.has_value(), "window");
  add(c.truncate.has_value(), "truncate");
  return set;
}

// Canonical text of a resolved (non-default) choice: every field the kind uses, defaults filled in.
std::string Describe(const std::string& kind, const ContextPlan& p, double factor) {
  if (kind == "none") return "none";
  if (kind == "sinks") return absl::StrCat("sinks:sink_tokens=", p.sink_tokens, ",window=", p.window);
  if (kind == "ntk") return absl::StrCat("ntk:factor=", factor, ",theta=", p.rope_theta);
  return absl::StrCat(kind, "|", FormatRopeScaling(p.scaling), "|L=", p.scaling_max_position_embeddings);
}

}  // namespace

bool ContextPolicyChoice::empty() const { return (kind.empty() || kind == "model_default") && SetFields(*this).empty(); }

const std::vector<std::string>& ContextPolicyKinds() {
  static const std::vector<std::string> kinds{"model_default", "none", "linear", "ntk", "dynamic_ntk", "yarn",
                                              "llama3", "longrope", "alibi", "sinks"};
  return kinds;
}

absl::StatusOr<ContextPolicyChoice> ParseContextPolicyChoice(const std::string& text) {
  ContextPolicyChoice c;
  const size_t colon = text.find(':');
  c.kind = text.substr(0, colon);
  if (colon == std::string::npos) return c;
  for (const std::string& item : std::vector<std::string>(absl::StrSplit(text.substr(colon + 1), ',', absl::SkipEmpty()))) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return Invalid(item, "must be key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    auto real = [&](std::optional<double>& out) -> absl::Status {
      double v;
      if (!absl::SimpleAtod(value, &v)) return Invalid(key, absl::StrCat("must be a number, got \"", value, "\""));
      out = v;
      return absl::OkStatus();
    };
    auto integer = [&](std::optional<int64_t>& out) -> absl::Status {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return Invalid(key, absl::StrCat("must be an integer, got \"", value, "\""));
      out = v;
      return absl::OkStatus();
    };
    auto list = [&](std::vector<double>& out) -> absl::Status {
      for (const std::string& part : std::vector<std::string>(absl::StrSplit(value, '/'))) {
        double v;
        if (!absl::SimpleAtod(part, &v)) return Invalid(key, absl::StrCat("must be numbers separated by '/', got \"", value, "\""));
        out.push_back(v);
      }
      return absl::OkStatus();
    };
    absl::Status s;
    if (key == "factor") s = real(c.factor);
    else if (key == "beta_fast") s = real(c.beta_fast);
    else if (key == "beta_slow") s = real(c.beta_slow);
    else if (key == "attention_factor") s = real(c.attention_factor);
    else if (key == "low_freq_factor") s = real(c.low_freq_factor);
    else if (key == "high_freq_factor") s = real(c.high_freq_factor);
    else if (key == "original_max_position_embeddings") s = integer(c.original_max_position_embeddings);
    else if (key == "sink_tokens") s = integer(c.sink_tokens);
    else if (key == "window") s = integer(c.window);
    else if (key == "short_factor") s = list(c.short_factor);
    else if (key == "truncate") {
      if (value != "true" && value != "false") return Invalid(key, absl::StrCat("must be true or false, got \"", value, "\""));
      c.truncate = value == "true";
    }
    else if (key == "long_factor") s = list(c.long_factor);
    else return Invalid(key, "is not a context-policy field");
    if (!s.ok()) return s;
  }
  return c;
}

const RopeFrequencies& ContextPlan::FrequenciesFor(int64_t seq_len, RopeFrequencies& scratch) const {
  if (scaling.type == RopeScaling::Type::kLongrope) {
    const int64_t original = scaling.original_max_position_embeddings > 0 ? scaling.original_max_position_embeddings
                                                                           : scaling_max_position_embeddings;
    return seq_len > original ? long_frequencies : frequencies;
  }
  if (!dynamic || seq_len <= scaling_max_position_embeddings) return frequencies;
  // Head dim is implied by the static frequencies' length (rotary dim / 2).
  scratch = ComputeRopeFrequencies(scaling, 2 * static_cast<int64_t>(frequencies.inv_freq.size()),
                                   rope_theta, scaling_max_position_embeddings, seq_len);
  return scratch;
}

absl::StatusOr<std::shared_ptr<const ContextPlan>> ResolveContextPolicy(const ContextPolicyChoice& choice,
                                                                        const ContextResolveContext& ctx) {
  const ModelConfig& c = *ctx.config;
  auto plan = std::make_shared<ContextPlan>();
  const std::string kind = choice.kind.empty() ? "model_default" : choice.kind;
  const std::vector<std::string>& kinds = ContextPolicyKinds();
  if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) {
    return Invalid("kind", absl::StrCat("\"", kind, "\" is unknown; known: ", absl::StrJoin(kinds, ", ")));
  }
  for (const std::string& field : SetFields(choice)) {
    const std::vector<std::string>& takes = FieldsOf(kind);
    if (std::find(takes.begin(), takes.end(), field) == takes.end()) {
      return Invalid(field, absl::StrCat("does not apply to kind ", kind, " (it takes: ",
                                         takes.empty() ? "no parameters" : absl::StrJoin(takes, ", "), ")"));
    }
  }
  const int64_t L = c.max_position_embeddings, cap = std::max<int64_t>(ctx.max_model_len, 1);
  plan->rope_theta = c.rope_theta;
  plan->kind = kind;
  if (c.alibi) {
    // ALiBi models: the bias needs no scaling to extrapolate, so model_default and alibi are the
    // same plan (one prefix-cache key), limited by --max_model_len only.
    if (kind != "model_default" && kind != "alibi") {
      return Invalid("kind", absl::StrCat("\"", kind, "\": ", c.architecture,
                                          " encodes positions with ALiBi, not rotary embeddings "
                                          "(only model_default and alibi apply)"));
    }
    plan->kind = "alibi";
    plan->rope = false;
    plan->max_length = cap;
    plan->limit_source = absl::StrCat("--max_model_len (ALiBi extrapolates; trained on ", L, " positions)");
    return std::shared_ptr<const ContextPlan>(std::move(plan));
  }
  if (!c.rope && kind != "model_default") {
    return Invalid("kind", absl::StrCat("\"", kind, "\": ", c.architecture,
                                        " does not use rotary positions (only model_default applies)"));
  }
  if (kind == "alibi") {
    return Invalid("kind", absl::StrCat("\"alibi\" applies to ALiBi models; ", c.architecture, " uses RoPE"));
  }
  if (kind == "model_default") {
    plan->scaling = c.rope_scaling;
    plan->scaling_max_position_embeddings = L;
    plan->dynamic = c.rope_scaling.type == RopeScaling::Type::kDynamic;
    plan->max_length = plan->dynamic ? cap : std::min(L, cap);
    plan->limit_source = plan->dynamic ? "--max_model_len (dynamic NTK from config.json)"
                                       : absl::StrCat("the model's max_position_embeddings ", L);
    plan->kind = c.rope_scaling.type == RopeScaling::Type::kDefault ? "model_default"
                                                                     : std::string("model_default:") + RopeTypeName(c.rope_scaling.type);
  } else {
    const double factor = choice.factor.value_or(0.0);
    const int64_t original = choice.original_max_position_embeddings.value_or(L);
    if (choice.original_max_position_embeddings && *choice.original_max_position_embeddings < 1)
      return Invalid("original_max_position_embeddings", absl::StrCat("must be >= 1, got ", original));
    const bool needs_factor = kind != "none" && kind != "sinks";
    if (needs_factor && !choice.factor) return Invalid("factor", absl::StrCat("is required for kind ", kind));
    if (needs_factor && !(factor >= 1.0 && factor <= 1024.0))
      return Invalid("factor", absl::StrCat("must be in [1, 1024], got ", factor));
    RopeScaling& s = plan->scaling;
    plan->scaling_max_position_embeddings = L;
    auto scaled_limit = [&](double f, int64_t o) {
      plan->max_length = std::min<int64_t>(static_cast<int64_t>(f * o), cap);
      plan->limit_source = absl::StrCat(kind, ": factor ", f, " x original_max_position_embeddings ", o);
    };
    if (kind == "none" || kind == "sinks") {
      plan->max_length = cap;
      plan->limit_source = "--max_model_len";
      if (kind == "sinks") {
        const int64_t sinks = choice.sink_tokens.value_or(4);
        const int64_t window = choice.window.value_or(std::max<int64_t>(1, L - sinks));
        if (sinks < 0 || sinks > L) return Invalid("sink_tokens", absl::StrCat("must be in [0, ", L, "], got ", sinks));
        if (window < 1 || sinks + window > L) {
          return Invalid("window", absl::StrCat("must be >= 1 with sink_tokens + window <= max_position_embeddings (",
                                                L, "), got ", window));
        }
        plan->sink_tokens = static_cast<int32_t>(sinks);
        plan->window = static_cast<int32_t>(window);
      }
    } else if (kind == "linear") {
      s.type = RopeScaling::Type::kLinear;
      s.factor = factor;
      scaled_limit(factor, L);
    } else if (kind == "ntk") {
      // Static NTK-aware scaling: the default RoPE with theta x factor^(d / (d - 2)).
      plan->rope_theta = c.rope_theta * std::pow(factor, double(c.head_dim) / double(c.head_dim - 2));
      scaled_limit(factor, original);
    } else if (kind == "dynamic_ntk") {
      s.type = RopeScaling::Type::kDynamic;
      s.factor = factor;
      plan->dynamic = true;
      plan->max_length = cap;
      plan->limit_source = "--max_model_len";
    } else if (kind == "yarn") {
      s.type = RopeScaling::Type::kYarn;
      s.factor = factor;
      s.original_max_position_embeddings = original;
      s.beta_fast = choice.beta_fast.value_or(32.0);
      s.beta_slow = choice.beta_slow.value_or(1.0);
      if (!(s.beta_fast > s.beta_slow && s.beta_slow > 0))
        return Invalid("beta_fast", absl::StrCat("must exceed beta_slow > 0, got ", s.beta_fast, " and ", s.beta_slow));
      s.attention_factor = choice.attention_factor;
      s.truncate = choice.truncate.value_or(true);
      scaled_limit(factor, original);
    } else if (kind == "llama3") {
      s.type = RopeScaling::Type::kLlama3;
      s.factor = factor;
      s.original_max_position_embeddings = original;
      s.low_freq_factor = choice.low_freq_factor.value_or(1.0);
      s.high_freq_factor = choice.high_freq_factor.value_or(4.0);
      if (!(s.high_freq_factor > s.low_freq_factor && s.low_freq_factor > 0)) {
        return Invalid("high_freq_factor", absl::StrCat("must exceed low_freq_factor > 0, got ", s.high_freq_factor,
                                                        " and ", s.low_freq_factor));
      }
      scaled_limit(factor, original);
    } else if (kind == "longrope") {
      s.type = RopeScaling::Type::kLongrope;
      s.factor = factor;
      s.original_max_position_embeddings = original;
      s.short_factor = choice.short_factor;
      s.long_factor = choice.long_factor;
      s.attention_factor = choice.attention_factor;
      if (s.short_factor.empty() || s.long_factor.empty())
        return Invalid(s.short_factor.empty() ? "short_factor" : "long_factor", "is required for kind longrope");
      // HF derives longrope's extended length from max_position_embeddings: factor x original.
      plan->scaling_max_position_embeddings = static_cast<int64_t>(factor * original);
      scaled_limit(factor, original);
    }
    if (absl::Status v = ValidateRopeScaling(s, c.head_dim, plan->scaling_max_position_embeddings, "context_policy");
        !v.ok()) {
      return absl::InvalidArgumentError(v.message());
    }
    plan->description = Describe(kind, *plan, factor);
  }
  if (c.rope && c.head_dim > 0) {
    const RopeScaling& s = plan->scaling;
    const int64_t L_s = plan->scaling_max_position_embeddings;
    if (s.type == RopeScaling::Type::kLongrope) {
      const int64_t original = s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings : L_s;
      plan->frequencies = ComputeRopeFrequencies(s, c.head_dim, plan->rope_theta, L_s, original);
      plan->long_frequencies = ComputeRopeFrequencies(s, c.head_dim, plan->rope_theta, L_s, original + 1);
    } else {
      plan->frequencies = ComputeRopeFrequencies(s, c.head_dim, plan->rope_theta, L_s, L_s);
    }
  }
  return std::shared_ptr<const ContextPlan>(std::move(plan));
}

}  // namespace attnserve

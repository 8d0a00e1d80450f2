// Folder engine/context/: per-request context-length extrapolation policies. Includes
// engine/config/.
//
// ContextPolicy: how one request encodes positions, above all beyond the model's trained length
// (issue 7; docs/architecture.md). A request (GenerateRequest / ScoreRequest.context_policy) or the
// deployment (--context_policy) picks a kind; the model's own config.json rope_scaling is the
// default. Resolution builds an immutable per-request ContextPlan: the RoPE frequencies (or
// ALiBi), the attention it implies (sinks), and the length the request may reach.
//
//   kind           positions                                        length limit
//   model_default  config.json rope_scaling (none: plain RoPE)      max_position_embeddings
//   none           plain RoPE, extrapolated as is                   --max_model_len
//   linear         positions / factor (HF "linear")                 factor x original
//   ntk            static NTK-aware: theta x factor^(d/(d-2))       factor x original
//   dynamic_ntk    HF "dynamic": NTK base grows with the length     --max_model_len
//   yarn           HF "yarn" (ramp between interpolation and not)   factor x original
//   llama3         HF "llama3" (per-band wavelength scaling)        factor x original
//   longrope       HF "longrope" (per-dimension short/long factors) factor x original
//   alibi          ALiBi models only (their default: model_default  --max_model_len
//                  resolves to it; every RoPE kind is refused)
//   sinks          plain RoPE + StreamingLLM attention (sink_tokens --max_model_len
//                  first tokens + a window of recent ones)
// "original" is original_max_position_embeddings (default: the model's max_position_embeddings).
// Every limit is also capped by --max_model_len. Semantics of the RoPE kinds equal transformers'
// modeling_rope_utils (engine/config/rope_scaling.h); ntk equals the default RoPE with the scaled
// theta. Dynamic NTK and LongRoPE follow transformers' cached generation: each chunk uses the
// frequencies for the sequence's length at the end of that chunk (dynamic: NTK base for that
// length; longrope: the long factors once it exceeds the original length); keys cached earlier
// keep the rotation they got.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config/model_config.h"
#include "engine/config/rope_scaling.h"

namespace attnserve {

// What a request asks for (unset fields take the kind's defaults).
struct ContextPolicyChoice {
  std::string kind;  // "" = model_default
  std::optional<double> factor, beta_fast, beta_slow, attention_factor, low_freq_factor, high_freq_factor;
  std::optional<int64_t> original_max_position_embeddings, sink_tokens, window;
  std::optional<bool> truncate;  // yarn: floor/ceil the correction range (default true)
  std::vector<double> short_factor, long_factor;

  bool empty() const;
};

// "yarn:factor=4,original_max_position_embeddings=256"; list values separated by '/', e.g.
// "longrope:factor=4,short_factor=1/1.5,long_factor=2/4". INVALID_ARGUMENT naming the field.
absl::StatusOr<ContextPolicyChoice> ParseContextPolicyChoice(const std::string& text);

// Every kind name, in the table's order.
const std::vector<std::string>& ContextPolicyKinds();

struct ContextPlan {
  std::string kind;         // resolved kind ("model_default" resolves to the config's own)
  std::string description;  // canonical, for the prefix-cache key and logs ("" = model default)
  bool rope = true;         // RoPE model (else ALiBi)
  bool dynamic = false;     // frequencies depend on the sequence length
  RopeScaling scaling;      // RoPE kinds
  double rope_theta = 10000.0;  // theta the frequencies use (ntk scales the model's)
  int64_t scaling_max_position_embeddings = 0;  // L passed to ComputeRopeFrequencies
  RopeFrequencies frequencies;  // static kinds (dynamic: at lengths <= L; longrope: short factors)
  RopeFrequencies long_frequencies;  // longrope: for sequences longer than the original length
  int64_t max_length = 0;   // tokens a sequence under this policy may reach
  std::string limit_source; // why, e.g. "yarn: factor 4 x original_max_position_embeddings 256"
  int32_t sink_tokens = 0;  // kind sinks
  int32_t window = 0;

  // The frequencies for a chunk ending at position seq_len - 1 (`scratch` holds dynamic ones).
  const RopeFrequencies& FrequenciesFor(int64_t seq_len, RopeFrequencies& scratch) const;
};

struct ContextResolveContext {
  const ModelConfig* config = nullptr;
  int64_t max_model_len = 0;  // --max_model_len cap (>= the model's own limit)
};

// Validates the choice against the model (INVALID_ARGUMENT naming context_policy.<field>).
absl::StatusOr<std::shared_ptr<const ContextPlan>> ResolveContextPolicy(const ContextPolicyChoice& choice,
                                                                        const ContextResolveContext& ctx);

}  // namespace attnserve

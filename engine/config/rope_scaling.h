// RopeScaling: the rotary-embedding frequency math of every Hugging Face rope type the engine
// supports (transformers 5.24 modeling_rope_utils.py: ROPE_INIT_FUNCTIONS, dynamic_rope_update,
// LlamaRotaryEmbedding), reproduced in float32 where HF is float32. Golden data:
// tests/golden/rope_scaling.json from tools/make_rope_golden.py.
//
// Notation: dim = int(head_dim * partial_rotary_factor) (the rotary dims), i = 0 .. dim/2 - 1,
// pos_freq[i] = f32(theta) ^ (f32(2i) / f32(dim))  (f32 pow), L = max_position_embeddings of the model,
// O = original_max_position_embeddings (0 in the struct = L: HF's standardize_rope_params default).
// cos/sin used by the model = cos(f32(pos) * inv_freq[i]) * f32(attention_scaling).
//
//   default   inv_freq = 1 / pos_freq; attention 1.
//   linear    inv_freq = (1 / pos_freq) / f32(factor); attention 1. Requires factor.
//   dynamic   (NTK) s = max(seq_len, L); base' = theta * (factor * s / L - (factor - 1)) ^ (dim / (dim-2));
//             inv_freq = 1 / (f32(base') ^ (2i/dim)); attention 1. Requires factor. Uses L, never O (an
//             original_max_position_embeddings key is ignored). When s == L this is exactly default. HF computes
//             the seq_len > L branch in float32 (seq_len arrives as a tensor; the ^ is a double pow rounded to
//             f32), the init branch in double; so do we.
//             HF is stateful per module: it recomputes only when max(position_ids)+1 exceeds the largest length
//             seen so far, and resets to the init inv_freq only when the length drops strictly below L; in
//             between (L <= len < largest seen) it keeps the largest-seen frequencies. This function is the
//             stateless form: pass seq_len = the largest length the sequence has reached (or < L after a reset).
//   yarn      factor (required key; JSON null -> L / O; stored as 0); O from config (or top-level
//             config.original_max_position_embeddings, which HF lets override the rope dict: caller's job).
//             attention = attention_factor if given; else if mscale and mscale_all_dim are both nonzero
//             get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim); else get_mscale(factor), where
//             get_mscale(s, m=1) = s <= 1 ? 1 : 0.1 * m * ln(s) + 1.
//             beta_fast, beta_slow default 32, 1 (also when 0: HF uses `or`).
//             corr(r) = dim * ln(O / (r * 2 * pi)) / (2 * ln(theta))  (double); low = corr(beta_fast),
//             high = corr(beta_slow), floored/ceiled when truncate (default true); low = max(low, 0),
//             high = min(high, dim - 1); if low == high: high += 0.001.
//             ramp[i] = clamp((f32(i) - f32(low)) / f32(high - low), 0, 1); e = 1 - ramp;
//             inv_freq = (1 / (f32(factor) * pos_freq)) * (1 - e) + (1 / pos_freq) * e.
//   longrope  short_factor, long_factor (required, length dim/2); ext = seq_len > O ? long : short;
//             inv_freq = 1 / (f32(ext[i]) * pos_freq). factor optional: absent -> L / O (Phi-3 rule; stored 0).
//             attention = attention_factor if given; else factor <= 1 ? 1 : sqrt(1 + ln(factor) / ln(O)); the
//             same for the short and the long set (HF computes it once at init).
//   llama3    factor, low_freq_factor, high_freq_factor (required); O optional (-> L, HF warns).
//             inv = 1 / pos_freq; wavelen = (1 / inv) * f32(2 pi) (HF's scalar / tensor is reciprocal * scalar);
//             low_wl = O / low_freq_factor, high_wl = O / high_freq_factor (double, compared as f32);
//             wavelen > low_wl: inv / factor; wavelen < high_wl: inv; otherwise smooth =
//             ((1 / wavelen) * f32(O) - low_freq_factor) / (high_freq_factor - low_freq_factor),
//             inv_freq = (1 - smooth) * inv / factor + smooth * inv. attention 1.
//
// partial_rotary_factor: read by every HF init function above (and by the default of partial-rotary models
// such as Phi-3; Llama's own default ignores it, but Llama configs never set it). HF moves a top-level
// config.partial_rotary_factor into the rope dict; ParseRopeScaling only reads the rope dict.
// HF merely warns on out-of-range values (factor < 1, beta_fast < beta_slow, wrong list length); we reject them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json_fwd.hpp"

namespace attnserve {

struct RopeScaling {
  enum class Type { kDefault, kLinear, kDynamic, kYarn, kLongrope, kLlama3 };
  Type type = Type::kDefault;
  double factor = 1.0;                              // yarn/longrope: 0 = L / O (HF's factor=None rule)
  int64_t original_max_position_embeddings = 0;     // yarn/longrope/llama3: 0 = the model's L
  double beta_fast = 32, beta_slow = 1;             // yarn
  std::optional<double> attention_factor;           // yarn/longrope explicit cos/sin multiplier
  std::optional<double> mscale, mscale_all_dim;     // yarn (DeepSeek style)
  bool truncate = true;                             // yarn
  double low_freq_factor = 1, high_freq_factor = 4; // llama3
  std::vector<double> short_factor, long_factor;    // longrope, length rotary_dim/2
  double partial_rotary_factor = 1.0;               // rotary dims = int(head_dim * partial_rotary_factor)

  bool operator==(const RopeScaling&) const = default;
};

// Parses an HF rope_scaling / rope_parameters JSON object (keys: rope_type, else the legacy type, else
// "default"; factor, ...). rope_theta and unknown keys are ignored (HF warns). Keys irrelevant to the type
// are not stored. `origin` names the file/field in errors; unknown type, missing required key or
// out-of-range value -> InvalidArgument naming the key and the allowed range.
absl::StatusOr<RopeScaling> ParseRopeScaling(const nlohmann::json& j, const std::string& origin);

// Model-dependent checks ParseRopeScaling cannot do: head_dim, L > 0; rotary dim even and >= 2; longrope
// short_factor/long_factor length == rotary_dim / 2. ComputeRopeFrequencies assumes these hold.
absl::Status ValidateRopeScaling(const RopeScaling& s, int64_t head_dim, int64_t max_position_embeddings,
                                 const std::string& origin);

// Canonical text form for cache keys and logs, e.g.
// "yarn:factor=4.0,original_max_position_embeddings=256,beta_fast=32.0,beta_slow=1.0,truncate=true".
// Every field the type uses is written (optional ones only when set), values as JSON literals.
std::string FormatRopeScaling(const RopeScaling& s);

// Inverse of FormatRopeScaling (also accepts a bare type name, e.g. "dynamic:factor=2"): builds the JSON
// object and runs ParseRopeScaling, so ParseFormattedRopeScaling(FormatRopeScaling(x)) == x.
absl::StatusOr<RopeScaling> ParseFormattedRopeScaling(const std::string& text, const std::string& origin);

// Type name as HF writes it ("default", "linear", "dynamic", "yarn", "longrope", "llama3").
const char* RopeTypeName(RopeScaling::Type type);

struct RopeFrequencies {
  std::vector<float> inv_freq;  // f32 [rotary_dim / 2]
  float attention_scaling = 1.0f;
};

// inv_freq and the cos/sin multiplier as transformers computes them (formulas above) for a model with head_dim,
// rope_theta and max_position_embeddings (L). seq_len (the sequence's current length = last position + 1)
// matters for kDynamic and kLongrope only. Precondition: ValidateRopeScaling(s, head_dim, L) is ok.
// Pure function, thread-safe.
RopeFrequencies ComputeRopeFrequencies(const RopeScaling& s, int64_t head_dim, double rope_theta,
                                       int64_t max_position_embeddings, int64_t seq_len);

// cos/sin f32[num_tokens, inv_freq.size()] of positions int32[num_tokens], as transformers'
// rotary embedding computes them in float32: angle = f32(pos) * inv_freq[i],
// cos = cos(angle) * attention_scaling, sin = sin(angle) * attention_scaling.
void RopeCosSin(const RopeFrequencies& f, const int32_t* positions, int64_t num_tokens, float* cos, float* sin);

}  // namespace attnserve

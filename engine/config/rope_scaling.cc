// RopeScaling parsing, canonical text form and the float32 frequency math of transformers 5.24.
#include "engine/config/rope_scaling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using json = nlohmann::json;
using Type = RopeScaling::Type;

constexpr Type kAllTypes[] = {Type::kDefault, Type::kLinear, Type::kDynamic,
                              Type::kYarn, Type::kLongrope, Type::kLlama3};

// An allowed interval for a numeric key, with the text errors quote.
struct Range {
  double lo, hi;
  bool lo_open, hi_open;
  const char* text;
  bool Contains(double v) const {
    return std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
};
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr Range kAtLeastOne{1, kInf, false, true, "a number >= 1"};
constexpr Range kPositive{0, kInf, true, true, "a number > 0"};
constexpr Range kNonNegative{0, kInf, false, true, "a number >= 0"};
constexpr Range kFraction{0, 1, true, false, "a number in (0, 1]"};

// Reads keys of one rope object; the first error sticks and later reads return fallbacks.
class Reader {
 public:
  Reader(const json& j, const std::string& origin, const std::string& type) : j_(j), origin_(origin), type_(type) {}

  bool Has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  bool HasKey(const char* key) const { return j_.contains(key); }

  // A number in `range`; absent or null -> `fallback`, or a missing-key error when there is none.
  double Number(const char* key, const Range& range, std::optional<double> fallback) {
    if (!Has(key)) {
      if (!fallback) Fail(absl::StrCat("missing required key \"", key, "\" for rope_type \"", type_, "\""));
      return fallback.value_or(0);
    }
    const json& v = j_[key];
    if (!v.is_number() || !range.Contains(v.get<double>())) {
      Fail(absl::StrCat("rope \"", key, "\" must be ", range.text, ", got ", v.dump()));
      return fallback.value_or(0);
    }
    return v.get<double>();
  }
  std::optional<double> OptionalNumber(const char* key, const Range& range) {
    if (!Has(key)) return std::nullopt;
    return Number(key, range, 0.0);
  }
  int64_t PositiveIntOrZero(const char* key) {
    if (!Has(key)) return 0;
    const json& v = j_[key];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
      Fail(absl::StrCat("rope \"", key, "\" must be a positive integer, got ", v.dump()));
      return 0;
    }
    return v.get<int64_t>();
  }
  bool Bool(const char* key, bool fallback) {
    if (!Has(key)) return fallback;
    if (!j_[key].is_boolean()) {
      Fail(absl::StrCat("rope \"", key, "\" must be true or false, got ", j_[key].dump()));
      return fallback;
    }
    return j_[key].get<bool>();
  }
  std::vector<double> FactorList(const char* key) {
    if (!Has(key)) {
      Fail(absl::StrCat("missing required key \"", key, "\" for rope_type \"", type_, "\""));
      return {};
    }
    const json& v = j_[key];
    std::vector<double> out;
    if (v.is_array() && !v.empty()) {
      for (const json& e : v) {
        if (!e.is_number() || !kPositive.Contains(e.get<double>())) break;
        out.push_back(e.get<double>());
      }
    }
    if (out.empty() || out.size() != v.size()) {
      Fail(absl::StrCat("rope \"", key, "\" must be a non-empty list of numbers > 0 (one per rotary "
                        "frequency, rotary_dim/2 of them), got ", v.dump()));
    }
    return out;
  }
  void Fail(const std::string& message) {
    if (status_.ok()) status_ = absl::InvalidArgumentError(absl::StrCat(origin_, ": ", message));
  }
  const absl::Status& status() const { return status_; }

 private:
  const json& j_;
  const std::string& origin_;
  const std::string type_;
  absl::Status status_;
};

// f32 pow: double pow rounded to f32, which is what torch computes for `python_float **
// f32_tensor`; for a 0-d f32 tensor base (dynamic's grown theta) torch's vectorized powf may differ
// by an ulp.
float PowF(float base, float exponent) {
  return static_cast<float>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
}

// f32 [dim/2]: f32(base) ^ (f32(2i) / f32(dim)), HF's `base ** (torch.arange(0, dim, 2).float() /
// dim)`.
std::vector<float> PosFreqs(float base, int64_t dim) {
  std::vector<float> out(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) {
    out[i] = PowF(base, static_cast<float>(2 * i) / static_cast<float>(dim));
  }
  return out;
}

// yarn/longrope's get_mscale(scale, mscale).
double YarnMscale(double scale, double mscale) { return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0; }

RopeFrequencies Dynamic(const RopeScaling& s, int64_t dim, double theta, int64_t L, int64_t seq_len) {
  const double exponent = static_cast<double>(dim) / static_cast<double>(dim - 2);
  float base;
  if (seq_len > L) {  // HF's update path: seq_len is a tensor, so the whole expression is float32
    float t = static_cast<float>(s.factor) * static_cast<float>(seq_len);
    t = t / static_cast<float>(L);
    t = t - static_cast<float>(s.factor - 1);
    // torch's pow(f32 tensor, double scalar) on a 0-d tensor: std::pow(float, double) -> double
    // pow, rounded.
    base = static_cast<float>(theta) * static_cast<float>(std::pow(static_cast<double>(t), exponent));
  } else {  // HF's init path (seq_len = L), Python doubles
    const double l = static_cast<double>(L);
    base = static_cast<float>(theta * std::pow(s.factor * l / l - (s.factor - 1), exponent));
  }
  RopeFrequencies out;
  for (float p : PosFreqs(base, dim)) out.inv_freq.push_back(1.0f / p);
  return out;
}

RopeFrequencies Yarn(const RopeScaling& s, int64_t dim, double theta, int64_t L) {
  const double O = static_cast<double>(s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings : L);
  const double factor = s.factor > 0 ? s.factor : static_cast<double>(L) / O;
  RopeFrequencies out;
  if (s.attention_factor) {
    out.attention_scaling = static_cast<float>(*s.attention_factor);
  } else if (s.mscale.value_or(0) != 0 && s.mscale_all_dim.value_or(0) != 0) {
    out.attention_scaling = static_cast<float>(YarnMscale(factor, *s.mscale) / YarnMscale(factor, *s.mscale_all_dim));
  } else {
    out.attention_scaling = static_cast<float>(YarnMscale(factor, 1));
  }
  const double beta_fast = s.beta_fast != 0 ? s.beta_fast : 32;
  const double beta_slow = s.beta_slow != 0 ? s.beta_slow : 1;
  auto correction_dim = [&](double rotations) {
    return (static_cast<double>(dim) * std::log(O / (rotations * 2 * std::numbers::pi))) / (2 * std::log(theta));
  };
  double low = correction_dim(beta_fast), high = correction_dim(beta_slow);
  if (s.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(dim - 1));
  if (low == high) high += 0.001;  // HF: prevent singularity
  const float low_f = static_cast<float>(low), span_f = static_cast<float>(high - low);
  const float factor_f = static_cast<float>(factor);
  const std::vector<float> pos = PosFreqs(static_cast<float>(theta), dim);
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float ramp = std::clamp((static_cast<float>(i) - low_f) / span_f, 0.0f, 1.0f);
    const float extrapolation_factor = 1.0f - ramp;
    const float interpolation = 1.0f / (factor_f * pos[i]);
    const float extrapolation = 1.0f / pos[i];
    const float a = interpolation * (1.0f - extrapolation_factor);
    const float b = extrapolation * extrapolation_factor;
    out.inv_freq.push_back(a + b);
  }
  return out;
}

RopeFrequencies Longrope(const RopeScaling& s, int64_t dim, double theta, int64_t L, int64_t seq_len) {
  const int64_t O = s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings : L;
  const double factor = s.factor > 0 ? s.factor : static_cast<double>(L) / static_cast<double>(O);
  RopeFrequencies out;
  if (s.attention_factor) {
    out.attention_scaling = static_cast<float>(*s.attention_factor);
  } else if (factor > 1.0) {
    out.attention_scaling = static_cast<float>(std::sqrt(1 + std::log(factor) / std::log(static_cast<double>(O))));
  }
  const std::vector<double>& ext = seq_len > O ? s.long_factor : s.short_factor;
  const std::vector<float> pos = PosFreqs(static_cast<float>(theta), dim);
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float e = i < static_cast<int64_t>(ext.size()) ? static_cast<float>(ext[i]) : 1.0f;  // validated
    out.inv_freq.push_back(1.0f / (e * pos[i]));
  }
  return out;
}

RopeFrequencies Llama3(const RopeScaling& s, int64_t dim, double theta, int64_t L) {
  const int64_t old_context = s.original_max_position_embeddings > 0 ? s.original_max_position_embeddings : L;
  const float low_wavelen = static_cast<float>(static_cast<double>(old_context) / s.low_freq_factor);
  const float high_wavelen = static_cast<float>(static_cast<double>(old_context) / s.high_freq_factor);
  const float factor = static_cast<float>(s.factor);
  const float two_pi = static_cast<float>(2 * std::numbers::pi);
  const float low_ff = static_cast<float>(s.low_freq_factor);
  const float band = static_cast<float>(s.high_freq_factor - s.low_freq_factor);
  RopeFrequencies out;
  for (float p : PosFreqs(static_cast<float>(theta), dim)) {
    const float inv = 1.0f / p;
    const float wavelen = (1.0f / inv) * two_pi;  // HF: 2 * math.pi / inv_freq == inv_freq.reciprocal() * 2pi
    const float llama = wavelen > low_wavelen ? inv / factor : inv;
    const float smooth = ((1.0f / wavelen) * static_cast<float>(old_context) - low_ff) / band;
    const float smoothed = (1.0f - smooth) * llama / factor + smooth * llama;
    const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
    out.inv_freq.push_back(medium ? smoothed : llama);
  }
  return out;
}

// Splits "a=1,b=[1,2],c=3" at the commas outside brackets.
std::vector<std::string> SplitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string cur;
  for (char c : text) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(cur);
  return parts;
}

}  // namespace

const char* RopeTypeName(Type type) {
  switch (type) {
    case Type::kDefault: return "default";
    case Type::kLinear: return "linear";
    case Type::kDynamic: return "dynamic";
    case Type::kYarn: return "yarn";
    case Type::kLongrope: return "longrope";
    case Type::kLlama3: return "llama3";
  }
  return "default";
}

absl::StatusOr<RopeScaling> ParseRopeScaling(const json& j, const std::string& origin) {
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": rope parameters must be a JSON object, got ", j.dump()));
  }
  // HF: rope_parameters.setdefault("rope_type", rope_parameters.get("type", "default")).
  const char* type_key = j.contains("rope_type") ? "rope_type" : "type";
  std::string name = "default";
  if (j.contains(type_key)) {
    if (!j[type_key].is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(origin, ": rope \"", type_key, "\" must be a string, got ", j[type_key].dump()));
    }
    name = j[type_key].get<std::string>();
  }
  RopeScaling s;
  const Type* found = std::find_if(std::begin(kAllTypes), std::end(kAllTypes),
                                   [&](Type t) { return name == RopeTypeName(t); });
  if (found == std::end(kAllTypes)) {
    return absl::InvalidArgumentError(absl::StrCat(
        origin, ": rope \"", type_key, "\" must be one of default, linear, dynamic, yarn, longrope, llama3; got \"",
        name, "\""));
  }
  s.type = *found;
  Reader r(j, origin, name);
  s.partial_rotary_factor = r.Number("partial_rotary_factor", kFraction, 1.0);
  switch (s.type) {
    case Type::kDefault:
      break;
    case Type::kLinear:
    case Type::kDynamic:
      s.factor = r.Number("factor", kAtLeastOne, std::nullopt);
      break;
    case Type::kYarn:
      // The key is required, but an explicit null means L / O (DeepSeek-V3 style).
      s.factor = r.Number("factor", kAtLeastOne, r.HasKey("factor") ? std::optional<double>(0.0) : std::nullopt);
      s.original_max_position_embeddings = r.PositiveIntOrZero("original_max_position_embeddings");
      s.attention_factor = r.OptionalNumber("attention_factor", kPositive);
      s.mscale = r.OptionalNumber("mscale", kNonNegative);
      s.mscale_all_dim = r.OptionalNumber("mscale_all_dim", kNonNegative);
      // HF: `rope_parameters.get("beta_fast") or 32`, so 0 also means the default.
      s.beta_fast = r.Number("beta_fast", kNonNegative, 32.0);
      s.beta_slow = r.Number("beta_slow", kNonNegative, 1.0);
      if (s.beta_fast == 0) s.beta_fast = 32;
      if (s.beta_slow == 0) s.beta_slow = 1;
      if (r.status().ok() && s.beta_fast < s.beta_slow) {
        r.Fail(absl::StrCat("rope \"beta_fast\" must be >= beta_slow (", s.beta_slow, "), got ", s.beta_fast));
      }
      s.truncate = r.Bool("truncate", true);
      break;
    case Type::kLongrope:
      s.short_factor = r.FactorList("short_factor");
      s.long_factor = r.FactorList("long_factor");
      if (r.status().ok() && s.long_factor.size() != s.short_factor.size()) {
        r.Fail(absl::StrCat("rope \"long_factor\" must have as many entries as short_factor (",
                            s.short_factor.size(), "), got ", s.long_factor.size()));
      }
      s.factor = r.Number("factor", kAtLeastOne, 0.0);  // absent: L / O
      s.original_max_position_embeddings = r.PositiveIntOrZero("original_max_position_embeddings");
      s.attention_factor = r.OptionalNumber("attention_factor", kPositive);
      break;
    case Type::kLlama3:
      s.factor = r.Number("factor", kAtLeastOne, std::nullopt);
      s.low_freq_factor = r.Number("low_freq_factor", kPositive, std::nullopt);
      s.high_freq_factor = r.Number("high_freq_factor", kPositive, std::nullopt);
      if (r.status().ok() && !(s.high_freq_factor > s.low_freq_factor)) {
        r.Fail(absl::StrCat("rope \"high_freq_factor\" must be > low_freq_factor (", s.low_freq_factor, "), got ",
                            s.high_freq_factor));
      }
      s.original_max_position_embeddings = r.PositiveIntOrZero("original_max_position_embeddings");
      break;
  }
  if (!r.status().ok()) return r.status();
  return s;
}

absl::Status ValidateRopeScaling(const RopeScaling& s, int64_t head_dim, int64_t max_position_embeddings,
                                 const std::string& origin) {
  if (head_dim <= 0 || max_position_embeddings <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(origin, ": head_dim (", head_dim, ") and max_position_embeddings (",
                                                   max_position_embeddings, ") must be > 0"));
  }
  const int64_t dim = static_cast<int64_t>(static_cast<double>(head_dim) * s.partial_rotary_factor);
  const int64_t min_dim = s.type == Type::kDynamic ? 4 : 2;  // dynamic divides by dim - 2
  if (dim % 2 != 0 || dim < min_dim) {
    return absl::InvalidArgumentError(absl::StrCat(
        origin, ": rope \"partial_rotary_factor\" gives rotary dim int(", head_dim, " * ", s.partial_rotary_factor,
        ") = ", dim, "; it must be even and >= ", min_dim));
  }
  if (s.type == Type::kLongrope) {
    for (const auto& [key, list] : {std::pair<const char*, const std::vector<double>*>{"short_factor", &s.short_factor},
                                    {"long_factor", &s.long_factor}}) {
      if (static_cast<int64_t>(list->size()) != dim / 2) {
        return absl::InvalidArgumentError(absl::StrCat(origin, ": rope \"", key, "\" must have rotary_dim/2 = ",
                                                       dim / 2, " entries, got ", list->size()));
      }
    }
  }
  return absl::OkStatus();
}

std::string FormatRopeScaling(const RopeScaling& s) {
  std::vector<std::string> kv;
  auto add = [&](const char* key, const json& value) { kv.push_back(absl::StrCat(key, "=", value.dump())); };
  auto add_original = [&] {
    if (s.original_max_position_embeddings > 0)
      add("original_max_position_embeddings", s.original_max_position_embeddings);
  };
  auto add_optional = [&](const char* key, const std::optional<double>& v) {
    if (v) add(key, *v);
  };
  switch (s.type) {
    case Type::kDefault:
      break;
    case Type::kLinear:
    case Type::kDynamic:
      add("factor", s.factor);
      break;
    case Type::kYarn:
      add("factor", s.factor > 0 ? json(s.factor) : json(nullptr));
      add_original();
      add("beta_fast", s.beta_fast);
      add("beta_slow", s.beta_slow);
      add("truncate", s.truncate);
      add_optional("attention_factor", s.attention_factor);
      add_optional("mscale", s.mscale);
      add_optional("mscale_all_dim", s.mscale_all_dim);
      break;
    case Type::kLongrope:
      if (s.factor > 0) add("factor", s.factor);
      add_original();
      add_optional("attention_factor", s.attention_factor);
      add("short_factor", s.short_factor);
      add("long_factor", s.long_factor);
      break;
    case Type::kLlama3:
      add("factor", s.factor);
      add_original();
      add("low_freq_factor", s.low_freq_factor);
      add("high_freq_factor", s.high_freq_factor);
      break;
  }
  if (s.partial_rotary_factor != 1.0) add("partial_rotary_factor", s.partial_rotary_factor);
  if (kv.empty()) return RopeTypeName(s.type);
  return absl::StrCat(RopeTypeName(s.type), ":", absl::StrJoin(kv, ","));
}

absl::StatusOr<RopeScaling> ParseFormattedRopeScaling(const std::string& text, const std::string& origin) {
  const size_t colon = text.find(':');
  json j = json::object();
  j["rope_type"] = text.substr(0, colon);
  if (colon != std::string::npos) {
    for (const std::string& part : SplitTopLevel(text.substr(colon + 1))) {
      const size_t eq = part.find('=');
      json value = eq == std::string::npos ? json(json::value_t::discarded)
                                           : json::parse(part.substr(eq + 1), nullptr, /*allow_exceptions=*/false);
      if (value.is_discarded()) {
        return absl::InvalidArgumentError(
            absl::StrCat(origin, ": rope setting \"", part, "\" must be key=<JSON value> (in \"", text, "\")"));
      }
      j[part.substr(0, eq)] = value;
    }
  }
  return ParseRopeScaling(j, origin);
}

RopeFrequencies ComputeRopeFrequencies(const RopeScaling& s, int64_t head_dim, double rope_theta,
                                       int64_t max_position_embeddings, int64_t seq_len) {
  const int64_t dim = static_cast<int64_t>(static_cast<double>(head_dim) * s.partial_rotary_factor);
  const int64_t L = max_position_embeddings;
  switch (s.type) {
    case Type::kDynamic: return Dynamic(s, dim, rope_theta, L, seq_len);
    case Type::kYarn: return Yarn(s, dim, rope_theta, L);
    case Type::kLongrope: return Longrope(s, dim, rope_theta, L, seq_len);
    case Type::kLlama3: return Llama3(s, dim, rope_theta, L);
    case Type::kDefault:
    case Type::kLinear: break;
  }
  RopeFrequencies out;
  const float factor = s.type == Type::kLinear ? static_cast<float>(s.factor) : 1.0f;
  for (float p : PosFreqs(static_cast<float>(rope_theta), dim)) {
    const float inv = 1.0f / p;
    out.inv_freq.push_back(s.type == Type::kLinear ? inv / factor : inv);
  }
  return out;
}

void RopeCosSin(const RopeFrequencies& f, const int32_t* positions, int64_t num_tokens, float* cos, float* sin) {
  const int64_t half = static_cast<int64_t>(f.inv_freq.size());
  for (int64_t t = 0; t < num_tokens; ++t) {
    const float pos = static_cast<float>(positions[t]);
    for (int64_t i = 0; i < half; ++i) {
      const float angle = pos * f.inv_freq[i];
      cos[t * half + i] = std::cos(angle) * f.attention_scaling;
      sin[t * half + i] = std::sin(angle) * f.attention_scaling;
    }
  }
}

}  // namespace attnserve

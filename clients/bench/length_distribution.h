// LengthDistribution: how many tokens a benchmark request's prompt or output has — a fixed count,
// or drawn per request from uniform:LO:HI (inclusive) or normal:MEAN:STD (rounded, at least 1).
// Plain data; sampling takes the caller's seeded RNG, so a workload is reproducible from --seed.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>

namespace attnserve::bench {

class LengthDistribution {
 public:
  enum class Kind { kFixed, kUniform, kNormal };

  static LengthDistribution Fixed(uint32_t length);
  // "uniform:64:256" or "normal:128:32"; nullopt (with the reason in *error) on anything else.
  static std::optional<LengthDistribution> Parse(const std::string& text, std::string* error);

  // One length >= 1 (normal draws are rounded and clamped to [1, mean + 6 std]).
  uint32_t Sample(std::mt19937_64& rng) const;
  // The largest length Sample can return (for checking against the model's context).
  uint32_t Max() const;
  std::string ToString() const;  // round-trips through Parse (or the plain count when fixed)

  Kind kind() const { return kind_; }

 private:
  Kind kind_ = Kind::kFixed;
  double a_ = 1;  // fixed: the length; uniform: low; normal: mean
  double b_ = 0;  // uniform: high; normal: standard deviation
};

}  // namespace attnserve::bench

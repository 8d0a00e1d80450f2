// LengthDistribution (see length_distribution.h).
#include "clients/bench/length_distribution.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace attnserve::bench {

LengthDistribution LengthDistribution::Fixed(uint32_t length) {
  LengthDistribution d;
  d.kind_ = Kind::kFixed;
  d.a_ = std::max<uint32_t>(length, 1);
  return d;
}

std::optional<LengthDistribution> LengthDistribution::Parse(const std::string& text,
                                                            std::string* error) {
  const std::vector<std::string> parts = absl::StrSplit(text, ':');
  double a = 0, b = 0;
  if (parts.size() != 3 || !absl::SimpleAtod(parts[1], &a) || !absl::SimpleAtod(parts[2], &b)) {
    *error = absl::StrCat("'", text, "' is not uniform:LO:HI or normal:MEAN:STD");
    return std::nullopt;
  }
  LengthDistribution d;
  d.a_ = a;
  d.b_ = b;
  if (parts[0] == "uniform") {
    d.kind_ = Kind::kUniform;
    if (a < 1 || b < a || a != std::floor(a) || b != std::floor(b)) {
      *error = absl::StrCat("'", text, "': uniform needs integers 1 <= LO <= HI");
      return std::nullopt;
    }
    return d;
  }
  if (parts[0] == "normal") {
    d.kind_ = Kind::kNormal;
    if (a < 1 || b < 0) {
      *error = absl::StrCat("'", text, "': normal needs MEAN >= 1 and STD >= 0");
      return std::nullopt;
    }
    return d;
  }
  *error = absl::StrCat("'", text, "': unknown distribution '", parts[0], "' (uniform or normal)");
  return std::nullopt;
}

uint32_t LengthDistribution::Sample(std::mt19937_64& rng) const {
  switch (kind_) {
    case Kind::kFixed:
      return static_cast<uint32_t>(a_);
    case Kind::kUniform:
      return std::uniform_int_distribution<uint32_t>(static_cast<uint32_t>(a_),
                                                     static_cast<uint32_t>(b_))(rng);
    case Kind::kNormal: {
      const double x = std::normal_distribution<double>(a_, b_)(rng);
      return static_cast<uint32_t>(std::clamp(std::llround(x), 1LL, static_cast<long long>(Max())));
    }
  }
  return 1;
}

uint32_t LengthDistribution::Max() const {
  switch (kind_) {
    case Kind::kFixed:
      return static_cast<uint32_t>(a_);
    case Kind::kUniform:
      return static_cast<uint32_t>(b_);
    case Kind::kNormal:
      return static_cast<uint32_t>(std::max(1.0, std::ceil(a_ + 6 * b_)));
  }
  return 1;
}

std::string LengthDistribution::ToString() const {
  switch (kind_) {
    case Kind::kFixed:
      return absl::StrCat(static_cast<uint32_t>(a_));
    case Kind::kUniform:
      return absl::StrCat("uniform:", a_, ":", b_);
    case Kind::kNormal:
      return absl::StrCat("normal:", a_, ":", b_);
  }
  return "";
}

}  // namespace attnserve::bench

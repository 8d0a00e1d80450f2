// RopeScaling: every rope type against transformers' own numbers (tests/golden/rope_scaling.json
// from tools/make_rope_golden.py), the canonical text round trip, and errors that name the
// offending key.
#include "engine/config/rope_scaling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>

#include "nlohmann/json.hpp"

namespace attnserve {
namespace {

using json = nlohmann::json;

const json& Golden() {
  static const json golden = [] {
    std::ifstream in(std::string(ATTNSERVE_GOLDEN_MODELS_DIR) + "/../rope_scaling.json");
    return json::parse(in, nullptr, /*allow_exceptions=*/false);
  }();
  return golden;
}

// HF's dynamic_frequency_update state machine over a history of sequence lengths, reduced to the
// seq_len whose frequencies the module holds at the end (L = the init frequencies).
int64_t HfDynamicLiveSeqLen(const std::vector<int64_t>& history, int64_t L) {
  int64_t cached = L, live = L;
  for (int64_t s : history) {
    const int64_t before = cached;
    if (s > before) live = cached = s;          // growth: recompute for s
    if (s < L && before > L) live = cached = L;  // shrank below L: back to the original inv_freq
  }
  return live;
}

int64_t UlpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, 4);
  std::memcpy(&ib, &b, 4);
  return std::abs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
}

// inv_freq within rel 1e-6 (torch's vectorized f32 pow is within 1 ulp of the double pow we round,
// so a few ulps at most; 1e-6 is ~8 ulps). cos/sin are checked against the bound that inv_freq
// difference implies: |d cos| <= pos * |d inv_freq| + ulp(f32 angle) + 1e-6 (f32 cos/sin of either
// library are within ~1 ulp), times attention_scaling.
TEST(RopeScalingTest, MatchesTransformersGolden) {
  const json& golden = Golden();
  ASSERT_FALSE(golden.is_discarded()) << "cannot read tests/golden/rope_scaling.json";
  ASSERT_GE(golden["cases"].size(), 60u);
  int64_t max_ulps = 0, mismatched = 0, total = 0;
  for (const json& c : golden["cases"]) {
    const std::string name = c["name"];
    SCOPED_TRACE(name);
    const int64_t head_dim = c["head_dim"], L = c["max_position_embeddings"];
    const double theta = c["rope_theta"];
    absl::StatusOr<RopeScaling> s = ParseRopeScaling(c["rope"], name);
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE(ValidateRopeScaling(*s, head_dim, L, name).ok());
    const std::vector<int64_t> history = c["seq_lens"];
    const int64_t seq_len = s->type == RopeScaling::Type::kDynamic ? HfDynamicLiveSeqLen(history, L) : history.back();
    const RopeFrequencies f = ComputeRopeFrequencies(*s, head_dim, theta, L, seq_len);

    const std::vector<float> want = c["inv_freq"];
    ASSERT_EQ(f.inv_freq.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_NEAR(f.inv_freq[i], want[i], 1e-6 * std::abs(want[i])) << "i=" << i;
      max_ulps = std::max(max_ulps, UlpDistance(f.inv_freq[i], want[i]));
      mismatched += f.inv_freq[i] != want[i];
      ++total;
    }
    EXPECT_FLOAT_EQ(f.attention_scaling, static_cast<float>(c["attention_scaling"].get<double>()));

    const std::vector<int64_t> positions = c["positions"];
    for (size_t p = 0; p < positions.size(); ++p) {
      for (size_t i = 0; i < want.size(); ++i) {
        const float angle = static_cast<float>(positions[p]) * f.inv_freq[i];
        const float angle_ulp = std::nextafter(std::abs(angle), INFINITY) - std::abs(angle);  // f32 rounding of pos*inv
        const double tol =
            f.attention_scaling * (1e-6 + positions[p] * std::abs(f.inv_freq[i] - want[i]) + angle_ulp);
        EXPECT_NEAR(std::cos(angle) * f.attention_scaling, c["cos"][p][i].get<double>(), tol) << "pos " << positions[p];
        EXPECT_NEAR(std::sin(angle) * f.attention_scaling, c["sin"][p][i].get<double>(), tol) << "pos " << positions[p];
      }
    }
  }
  std::cout << "rope golden: " << golden["cases"].size() << " cases (transformers "
            << golden["transformers_version"].get<std::string>() << "), " << mismatched << "/" << total
            << " inv_freq values differ bitwise, max " << max_ulps << " ulp\n";
}

TEST(RopeScalingTest, FormatRoundTripsEveryGoldenConfig) {
  for (const json& c : Golden()["cases"]) {
    absl::StatusOr<RopeScaling> s = ParseRopeScaling(c["rope"], "golden");
    ASSERT_TRUE(s.ok()) << s.status();
    const std::string text = FormatRopeScaling(*s);
    absl::StatusOr<RopeScaling> back = ParseFormattedRopeScaling(text, "formatted");
    ASSERT_TRUE(back.ok()) << back.status() << " for " << text;
    EXPECT_TRUE(*back == *s) << c["name"].get<std::string>() << ": " << text;
    EXPECT_EQ(FormatRopeScaling(*back), text);
  }
}

TEST(RopeScalingTest, CanonicalText) {
  auto format = [](const char* j) {
    absl::StatusOr<RopeScaling> s = ParseRopeScaling(json::parse(j), "t");
    return s.ok() ? FormatRopeScaling(*s) : s.status().ToString();
  };
  EXPECT_EQ(format(R"({"rope_type": "default", "rope_theta": 10000})"), "default");
  EXPECT_EQ(format(R"({})"), "default");
  // Legacy "type" and an integer factor give the same key as the transformers-5 spelling.
  EXPECT_EQ(format(R"({"type": "linear", "factor": 4})"), "linear:factor=4.0");
  EXPECT_EQ(format(R"({"rope_type": "linear", "factor": 4.0})"), "linear:factor=4.0");
  EXPECT_EQ(format(R"({"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 256})"),
            "yarn:factor=4.0,original_max_position_embeddings=256,beta_fast=32.0,beta_slow=1.0,truncate=true");
  EXPECT_EQ(format(R"({"rope_type": "yarn", "factor": null, "mscale": 0.707, "mscale_all_dim": 1, "truncate": false})"),
            "yarn:factor=null,beta_fast=32.0,beta_slow=1.0,truncate=false,mscale=0.707,mscale_all_dim=1.0");
  EXPECT_EQ(format(R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4,
                       "original_max_position_embeddings": 8192})"),
            "llama3:factor=8.0,original_max_position_embeddings=8192,low_freq_factor=1.0,high_freq_factor=4.0");
  EXPECT_EQ(format(R"({"rope_type": "longrope", "short_factor": [1, 1.5], "long_factor": [2, 4.25],
                       "original_max_position_embeddings": 4096})"),
            "longrope:original_max_position_embeddings=4096,short_factor=[1.0,1.5],long_factor=[2.0,4.25]");
  EXPECT_EQ(format(R"({"rope_type": "dynamic", "factor": 2, "partial_rotary_factor": 0.5})"),
            "dynamic:factor=2.0,partial_rotary_factor=0.5");
  // Short hand-written forms parse too.
  absl::StatusOr<RopeScaling> s = ParseFormattedRopeScaling("yarn:factor=4,original_max_position_embeddings=64", "cli");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->type, RopeScaling::Type::kYarn);
  EXPECT_EQ(s->original_max_position_embeddings, 64);
}

TEST(RopeScalingTest, TransformersDefaultsAndQuirks) {
  auto parse = [](const char* j) {
    absl::StatusOr<RopeScaling> s = ParseRopeScaling(json::parse(j), "t");
    EXPECT_TRUE(s.ok()) << s.status();
    return s.value_or(RopeScaling{});
  };
  // rope_type wins over the legacy type key.
  EXPECT_EQ(parse(R"({"rope_type": "linear", "type": "dynamic", "factor": 2})").type, RopeScaling::Type::kLinear);
  // dynamic ignores original_max_position_embeddings: HF's threshold is max_position_embeddings.
  EXPECT_EQ(parse(R"({"rope_type": "dynamic", "factor": 2, "original_max_position_embeddings": 64})")
                .original_max_position_embeddings, 0);
  // yarn beta 0 means the default (HF: `get("beta_fast") or 32`).
  RopeScaling yarn = parse(R"({"rope_type": "yarn", "factor": 2, "beta_fast": 0, "beta_slow": 0})");
  EXPECT_EQ(yarn.beta_fast, 32);
  EXPECT_EQ(yarn.beta_slow, 1);
  // llama3 without original_max_position_embeddings: HF standardization fills in
  // max_position_embeddings.
  RopeScaling llama3 = parse(R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4})");
  EXPECT_EQ(llama3.original_max_position_embeddings, 0);
  RopeScaling explicit_orig = llama3;
  explicit_orig.original_max_position_embeddings = 1024;
  EXPECT_EQ(ComputeRopeFrequencies(llama3, 16, 1e4, 1024, 1).inv_freq,
            ComputeRopeFrequencies(explicit_orig, 16, 1e4, 1024, 1).inv_freq);
  // dynamic at or below max_position_embeddings is exactly the default rope; above, theta grows.
  RopeScaling dynamic = parse(R"({"rope_type": "dynamic", "factor": 4})");
  const std::vector<float> plain = ComputeRopeFrequencies(RopeScaling{}, 16, 1e4, 256, 1).inv_freq;
  EXPECT_EQ(ComputeRopeFrequencies(dynamic, 16, 1e4, 256, 256).inv_freq, plain);
  EXPECT_EQ(ComputeRopeFrequencies(dynamic, 16, 1e4, 256, 1).inv_freq, plain);
  EXPECT_LT(ComputeRopeFrequencies(dynamic, 16, 1e4, 256, 257).inv_freq[1], plain[1]);
  // longrope: the long set starts at seq_len > original, the attention factor does not change.
  RopeScaling lr = parse(R"({"rope_type": "longrope", "short_factor": [1, 1], "long_factor": [2, 2],
                             "original_max_position_embeddings": 64})");
  const RopeFrequencies shorter = ComputeRopeFrequencies(lr, 4, 1e4, 256, 64);
  const RopeFrequencies longer = ComputeRopeFrequencies(lr, 4, 1e4, 256, 65);
  EXPECT_FLOAT_EQ(longer.inv_freq[0], shorter.inv_freq[0] / 2);
  EXPECT_EQ(longer.attention_scaling, shorter.attention_scaling);
  EXPECT_FLOAT_EQ(shorter.attention_scaling, std::sqrt(1 + std::log(4.0) / std::log(64.0)));  // factor = 256 / 64
}

struct BadCase {
  const char* json_text;
  const char* key;  // must appear in the message
};

TEST(RopeScalingTest, BadInputNamesTheKey) {
  const BadCase cases[] = {
      {R"([1])", "JSON object"},
      {R"({"rope_type": "su"})", "\"rope_type\" must be one of default, linear, dynamic, yarn, longrope, llama3"},
      {R"({"type": "ntk"})", "\"type\" must be one of"},
      {R"({"rope_type": "proportional", "factor": 1})", "\"rope_type\""},
      {R"({"rope_type": 3})", "\"rope_type\" must be a string"},
      {R"({"rope_type": "linear"})", "missing required key \"factor\" for rope_type \"linear\""},
      {R"({"rope_type": "linear", "factor": 0.5})", "\"factor\" must be a number >= 1, got 0.5"},
      {R"({"rope_type": "dynamic", "factor": "2"})", "\"factor\" must be a number >= 1"},
      {R"({"rope_type": "dynamic", "factor": null})", "missing required key \"factor\""},
      {R"({"rope_type": "yarn"})", "missing required key \"factor\" for rope_type \"yarn\""},
      {R"({"rope_type": "yarn", "factor": 0.9})", "\"factor\" must be a number >= 1"},
      {R"({"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 0})",
       "\"original_max_position_embeddings\" must be a positive integer"},
      {R"({"rope_type": "yarn", "factor": 4, "beta_fast": 1, "beta_slow": 32})", "\"beta_fast\" must be >= beta_slow"},
      {R"({"rope_type": "yarn", "factor": 4, "beta_slow": -1})", "\"beta_slow\" must be a number >= 0"},
      {R"({"rope_type": "yarn", "factor": 4, "attention_factor": 0})", "\"attention_factor\" must be a number > 0"},
      {R"({"rope_type": "yarn", "factor": 4, "mscale": -0.5})", "\"mscale\" must be a number >= 0"},
      {R"({"rope_type": "yarn", "factor": 4, "truncate": "no"})", "\"truncate\" must be true or false"},
      {R"({"rope_type": "llama3", "low_freq_factor": 1, "high_freq_factor": 4})", "missing required key \"factor\""},
      {R"({"rope_type": "llama3", "factor": 8, "high_freq_factor": 4})", "missing required key \"low_freq_factor\""},
      {R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1})", "missing required key \"high_freq_factor\""},
      {R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 4, "high_freq_factor": 4})",
       "\"high_freq_factor\" must be > low_freq_factor"},
      {R"({"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4,
           "original_max_position_embeddings": 8192.5})", "\"original_max_position_embeddings\" must be a positive"},
      {R"({"rope_type": "longrope", "short_factor": [1, 1]})", "missing required key \"long_factor\""},
      {R"({"rope_type": "longrope", "long_factor": [1, 1]})", "missing required key \"short_factor\""},
      {R"({"rope_type": "longrope", "short_factor": [], "long_factor": [1]})", "\"short_factor\" must be a non-empty"},
      {R"({"rope_type": "longrope", "short_factor": [1, -1], "long_factor": [1, 1]})", "\"short_factor\" must be"},
      {R"({"rope_type": "longrope", "short_factor": [1, 1], "long_factor": "x"})", "\"long_factor\" must be"},
      {R"({"rope_type": "longrope", "short_factor": [1, 1], "long_factor": [1, 1, 1]})",
       "\"long_factor\" must have as many entries as short_factor (2), got 3"},
      {R"({"rope_type": "longrope", "short_factor": [1], "long_factor": [1], "factor": 0.5})", "\"factor\" must be"},
      {R"({"rope_type": "linear", "factor": 2, "partial_rotary_factor": 1.5})",
       "\"partial_rotary_factor\" must be a number in (0, 1]"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.json_text);
    absl::StatusOr<RopeScaling> s = ParseRopeScaling(json::parse(c.json_text), "m/config.json rope_scaling");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("m/config.json rope_scaling: "), std::string::npos) << s.status();
    EXPECT_NE(s.status().message().find(c.key), std::string::npos) << s.status();
  }
}

TEST(RopeScalingTest, ValidateChecksModelShape) {
  absl::StatusOr<RopeScaling> lr = ParseRopeScaling(
      json::parse(R"({"rope_type": "longrope", "short_factor": [1, 1, 1], "long_factor": [1, 1, 1]})"), "c");
  ASSERT_TRUE(lr.ok());
  absl::Status st = ValidateRopeScaling(*lr, 16, 256, "c");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("\"short_factor\" must have rotary_dim/2 = 8 entries, got 3"), std::string::npos) << st;
  EXPECT_TRUE(ValidateRopeScaling(*lr, 6, 256, "c").ok());

  RopeScaling odd;
  odd.partial_rotary_factor = 0.1875;  // 16 * 0.1875 = 3 rotary dims
  st = ValidateRopeScaling(odd, 16, 256, "c");
  EXPECT_NE(st.message().find("\"partial_rotary_factor\" gives rotary dim int(16 * 0.1875) = 3"), std::string::npos)
      << st;
  RopeScaling dynamic;
  dynamic.type = RopeScaling::Type::kDynamic;
  dynamic.factor = 2;
  EXPECT_FALSE(ValidateRopeScaling(dynamic, 2, 256, "c").ok());  // dim / (dim - 2)
  EXPECT_TRUE(ValidateRopeScaling(dynamic, 4, 256, "c").ok());
  EXPECT_FALSE(ValidateRopeScaling(RopeScaling{}, 16, 0, "c").ok());
}

TEST(RopeScalingTest, BadFormattedText) {
  for (const char* text : {"yarn:factor", "yarn:factor=abc", "nope", "linear:factor=[1,2"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<RopeScaling> s = ParseFormattedRopeScaling(text, "--rope");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(s.status().message().find("--rope: "), std::string::npos) << s.status();
  }
}

}  // namespace
}  // namespace attnserve

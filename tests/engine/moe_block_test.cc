// MoeBlock on random weights: the grouped per-expert execution equals a naive per-token reference
// (route, then Σ weight · expert(h) + the gated shared expert) in both of its paths — per-shard
// experts (N = 2 shards) and, with one shard and many experts, experts spread over the OpenMP
// team — and the two paths agree bit for bit.
#include "engine/moe/moe_block.h"
#include "kernels/backend_registry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace attnserve {
namespace {

struct RandomMoe {
  MoeSpec spec;
  MoeWeights w;
  std::vector<std::vector<float>> storage;
  int64_t H;

  RandomMoe(int64_t experts, int64_t top_k, int64_t hidden, int64_t inter, int64_t shared, bool norm)
      : H(hidden) {
    spec.num_experts = experts;
    spec.top_k = top_k;
    spec.expert_intermediate_size = inter;
    spec.norm_topk_prob = norm;
    spec.shared_expert_intermediate_size = shared;
    std::mt19937 gen(5);
    std::normal_distribution<float> d(0.0f, 0.3f);
    auto tensor = [&](int64_t n) {
      storage.emplace_back(n);
      for (float& x : storage.back()) x = d(gen);
      F32Tensor t;
      t.data = storage.back().data();
      return t;
    };
    auto matrix = [&](int64_t rows, int64_t cols) {
      WeightTensor m;
      m.matrix = {DType::kF32, tensor(rows * cols).data, rows, cols};
      return m;
    };
    storage.reserve(4 * experts + 8);
    w.router = tensor(experts * hidden);
    for (int64_t e = 0; e < experts; ++e)
      w.experts.push_back({matrix(inter, hidden), matrix(inter, hidden), matrix(hidden, inter)});
    if (shared > 0) {
      w.shared = {matrix(shared, hidden), matrix(shared, hidden), matrix(hidden, shared)};
      w.shared_gate = tensor(hidden);
    }
  }
};

// The MLP of one expert on one token, in double: down(silu(gate x) * up x).
std::vector<double> ExpertRef(const ExpertWeights& e, int64_t I, int64_t H, const float* x) {
  std::vector<double> a(I), out(H, 0.0);
  const auto* gate = static_cast<const float*>(e.gate.matrix.data);
  const auto* up = static_cast<const float*>(e.up.matrix.data);
  const auto* down = static_cast<const float*>(e.down.matrix.data);
  for (int64_t i = 0; i < I; ++i) {
    double g = 0, u = 0;
    for (int64_t d = 0; d < H; ++d) {
      g += double(gate[i * H + d]) * x[d];
      u += double(up[i * H + d]) * x[d];
    }
    a[i] = g / (1.0 + std::exp(-g)) * u;
  }
  for (int64_t d = 0; d < H; ++d)
    for (int64_t i = 0; i < I; ++i) out[d] += double(down[d * I + i]) * a[i];
  return out;
}

std::vector<float> Reference(const RandomMoe& m, const std::vector<float>& h, int64_t T) {
  const int64_t H = m.H, E = m.spec.num_experts, k = m.spec.top_k;
  std::vector<float> logits(T * E), out(T * H, 0.0f);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t e = 0; e < E; ++e) {
      double s = 0;
      for (int64_t d = 0; d < H; ++d) s += double(m.w.router.data[e * H + d]) * h[t * H + d];
      logits[t * E + e] = float(s);
    }
  RoutingTable r;
  RouteTopK(logits.data(), T, E, k, m.spec.norm_topk_prob, r);
  for (int64_t t = 0; t < T; ++t) {
    std::vector<double> acc(H, 0.0);
    for (int64_t j = 0; j < k; ++j) {
      std::vector<double> y = ExpertRef(m.w.experts[r.experts[t * k + j]], m.spec.expert_intermediate_size, H, &h[t * H]);
      for (int64_t d = 0; d < H; ++d) acc[d] += r.weights[t * k + j] * y[d];
    }
    if (const int64_t S = m.spec.shared_expert_intermediate_size; S > 0) {
      std::vector<double> y = ExpertRef(m.w.shared, S, H, &h[t * H]);
      double g = 0;
      for (int64_t d = 0; d < H; ++d) g += double(m.w.shared_gate.data[d]) * h[t * H + d];
      g = 1.0 / (1.0 + std::exp(-g));
      for (int64_t d = 0; d < H; ++d) acc[d] += g * y[d];
    }
    for (int64_t d = 0; d < H; ++d) out[t * H + d] = float(acc[d]);
  }
  return out;
}

TEST(MoeBlockTest, BothPathsMatchTheReferenceAndEachOther) {
  for (const bool norm : {true, false}) {
    RandomMoe m(/*experts=*/32, /*top_k=*/4, /*hidden=*/64, /*inter=*/48, /*shared=*/40, norm);
    const int64_t T = 48, H = m.H, E = m.spec.num_experts;
    std::vector<float> h(T * H);
    std::mt19937 gen(9);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (float& x : h) x = d(gen);
    std::unique_ptr<Backend> be = MakeBackend("cpu", {2}).value();
    ExpertShards one(ContiguousPlacement(1, E).value(), 2, be.get());
    ExpertShards two(ContiguousPlacement(2, E).value(), 2, be.get());
    std::vector<int64_t> expert_tokens(E, 0), shard1(1, 0), shard2(2, 0);
    std::vector<float> out1(T * H), out2(T * H);
    MoeBlock block1, block2;
    block1.Forward(m.spec, m.w, H, h.data(), T, *be, one, expert_tokens, shard1, out1.data());
    block2.Forward(m.spec, m.w, H, h.data(), T, *be, two, expert_tokens, shard2, out2.data());
    EXPECT_EQ(out1, out2);  // bitwise: the same per-expert arithmetic on either path
    EXPECT_EQ(shard1[0], T * m.spec.top_k);
    EXPECT_EQ(shard2[0] + shard2[1], T * m.spec.top_k);
    int64_t routed = 0;
    for (int64_t n : expert_tokens) routed += n;
    EXPECT_EQ(routed, 2 * T * m.spec.top_k);
    const std::vector<float> ref = Reference(m, h, T);
    for (size_t i = 0; i < ref.size(); ++i) ASSERT_NEAR(out1[i], ref[i], 1e-4 + 1e-4 * std::fabs(ref[i])) << i;
  }
}

}  // namespace
}  // namespace attnserve

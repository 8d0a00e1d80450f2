// MoeBlock::Forward (see moe_block.h).
#include "engine/moe/moe_block.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <omp.h>

namespace attnserve {

void MoeBlock::Forward(const MoeSpec& spec, const MoeWeights& w, int64_t H, const float* h,
                       int64_t T, Backend& be, ExpertShards& shards,
                       std::vector<int64_t>& expert_tokens, std::vector<int64_t>& shard_tokens,
                       float* out) {
  const int64_t E = spec.num_experts, k = spec.top_k;
  // 1. Route.
  logits_.resize(T * E);
  be.Linear(h, w.router.data, nullptr, logits_.data(), T, E, H);
  RouteTopK(logits_.data(), T, E, k, spec.norm_topk_prob, routing_);
  // 2. Dispatch: (token, slot) pairs grouped by expert.
  slots_of_expert_.resize(E);
  for (auto& s : slots_of_expert_) s.clear();
  for (int64_t slot = 0; slot < T * k; ++slot) slots_of_expert_[routing_.experts[slot]].push_back(static_cast<int32_t>(slot));
  for (int64_t e = 0; e < E; ++e) expert_tokens[e] += static_cast<int64_t>(slots_of_expert_[e].size());
  y_slots_.resize(T * k * H);
  scratch_.resize(shards.num_shards());
  // 3. Each shard runs its experts over their tokens (or, one shard with many experts, the
  // experts are spread over the team).
  const int threads = omp_get_max_threads();
  bool spread = false;
  if (shards.num_shards() == 1 && threads > 1) {
    used_.clear();
    for (int32_t e = 0; e < E; ++e)
      if (!slots_of_expert_[e].empty()) used_.push_back(e);
    spread = static_cast<int64_t>(used_.size()) >= 8 * int64_t{threads};
  }
  if (spread) {
    RunExpertsSpread(spec, w, H, h, T, used_, be, threads);
    shard_tokens[0] += T * k;
  } else {
    shards.Run([&](int64_t shard, Backend& b) {
      int64_t computed = 0;
      for (int32_t e : shards.placement().shard_experts[shard]) {
        if (slots_of_expert_[e].empty()) continue;
        RunExpert(spec, w, H, h, e, b, scratch_[shard]);
        computed += static_cast<int64_t>(slots_of_expert_[e].size());
      }
      shard_tokens[shard] += computed;
    });
  }
  // 4. Combine in token order, slots in routing order.
  for (int64_t t = 0; t < T; ++t) {
    float* o = out + t * H;
    std::fill(o, o + H, 0.0f);
    for (int64_t j = 0; j < k; ++j) {
      const float wt = routing_.weights[t * k + j];
      const float* y = &y_slots_[(t * k + j) * H];
      for (int64_t d = 0; d < H; ++d) o[d] += wt * y[d];
    }
  }
  // 5. Qwen2-MoE shared expert: out += sigmoid(shared_gate · h) * shared_expert(h).
  const int64_t Is = spec.shared_expert_intermediate_size;
  if (Is > 0) {
    shared_gate_.resize(T * Is);
    shared_up_.resize(T * Is);
    shared_out_.resize(T * H);
    shared_logit_.resize(T);
    be.Linear(h, w.shared.gate.matrix, nullptr, shared_gate_.data(), T);
    be.Linear(h, w.shared.up.matrix, nullptr, shared_up_.data(), T);
    be.SiluMul(shared_gate_.data(), shared_up_.data(), shared_gate_.data(), T * Is);
    be.Linear(shared_gate_.data(), w.shared.down.matrix, nullptr, shared_out_.data(), T);
    be.Linear(h, w.shared_gate.data, nullptr, shared_logit_.data(), T, 1, H);
    for (int64_t t = 0; t < T; ++t) {
      const float g = 1.0f / (1.0f + std::exp(-shared_logit_[t]));
      for (int64_t d = 0; d < H; ++d) out[t * H + d] += g * shared_out_[t * H + d];
    }
  }
}

void MoeBlock::RunExpert(const MoeSpec& spec, const MoeWeights& w, int64_t H, const float* h,
                         int32_t e, Backend& b, ShardScratch& s) {
  const int64_t k = spec.top_k, I = spec.expert_intermediate_size;
  const std::vector<int32_t>& slots = slots_of_expert_[e];
  const int64_t n = static_cast<int64_t>(slots.size());
  s.x.resize(n * H);
  s.gate.resize(n * I);
  s.up.resize(n * I);
  s.y.resize(n * H);
  for (int64_t r = 0; r < n; ++r) std::memcpy(&s.x[r * H], h + (slots[r] / k) * H, H * sizeof(float));
  const ExpertWeights& x = w.experts[e];
  b.Linear(s.x.data(), x.gate.matrix, nullptr, s.gate.data(), n);
  b.Linear(s.x.data(), x.up.matrix, nullptr, s.up.data(), n);
  b.SiluMul(s.gate.data(), s.up.data(), s.gate.data(), n * I);
  b.Linear(s.gate.data(), x.down.matrix, nullptr, s.y.data(), n);
  for (int64_t r = 0; r < n; ++r) std::memcpy(&y_slots_[int64_t{slots[r]} * H], &s.y[r * H], H * sizeof(float));
}

void MoeBlock::RunExpertsSpread(const MoeSpec& spec, const MoeWeights& w, int64_t H, const float* h,
                                int64_t T, std::vector<int32_t>& used, Backend& b, int threads) {
  while (static_cast<int>(single_.size()) < threads) single_.push_back(b.WithThreads(1));
  thread_scratch_.resize(threads);
  scratch_.resize(std::max<size_t>(scratch_.size(), 1));
  std::stable_sort(used.begin(), used.end(), [&](int32_t a, int32_t c) {
    return slots_of_expert_[a].size() > slots_of_expert_[c].size();
  });
  // Experts with more than 1/threads of the rows run one at a time on all threads.
  size_t first_small = 0;
  while (first_small < used.size() &&
         static_cast<int64_t>(slots_of_expert_[used[first_small]].size()) * threads > T * spec.top_k) {
    RunExpert(spec, w, H, h, used[first_small++], b, scratch_[0]);
  }
  const int64_t count = static_cast<int64_t>(used.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
  for (int64_t i = static_cast<int64_t>(first_small); i < count; ++i) {
    const int t = omp_get_thread_num();
    RunExpert(spec, w, H, h, used[i], *single_[t], thread_scratch_[t]);
  }
}

}  // namespace attnserve

// Sampler implementation.
#include "engine/output/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attnserve {

void LogSoftmaxRow(std::span<const float> logits, std::span<float> out) {
  float max_logit = -std::numeric_limits<float>::infinity();
  for (float v : logits) max_logit = std::max(max_logit, v);
  double sum = 0.0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max_logit);
  const double log_z = max_logit + std::log(sum);
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<float>(logits[i] - log_z);
}

Sampler::Sampler(const SamplingParams& params, std::span<const int32_t> prompt)
    : params_(params) {
  rng_.seed(params.seed ? *params.seed : std::random_device{}());
  if (params_.repetition_penalty != 1.0f) {
    seen_tokens_.assign(prompt.begin(), prompt.end());
    std::sort(seen_tokens_.begin(), seen_tokens_.end());
    seen_tokens_.erase(std::unique(seen_tokens_.begin(), seen_tokens_.end()), seen_tokens_.end());
  }
}

void Sampler::ApplyPenalties(std::span<float> logits) const {
  for (const auto& [id, bias] : params_.logit_bias) logits[id] += bias;
  if (params_.repetition_penalty != 1.0f) {
    for (int32_t id : seen_tokens_) {
      float& v = logits[id];
      v = v > 0 ? v / params_.repetition_penalty : v * params_.repetition_penalty;
    }
  }
  if (params_.presence_penalty != 0.0f || params_.frequency_penalty != 0.0f) {
    for (const auto& [id, count] : output_counts_) {
      logits[id] -= params_.frequency_penalty * static_cast<float>(count) + params_.presence_penalty;
    }
  }
}

int32_t Sampler::Draw(std::span<const float> logits) {
  // Candidates sorted by logit, best first; filtered by top_k, top_p, min_p.
  scratch_.clear();
  for (size_t i = 0; i < logits.size(); ++i) {
    if (logits[i] > -std::numeric_limits<float>::infinity()) scratch_.emplace_back(logits[i], i);
  }
  const float inv_t = 1.0f / params_.temperature;
  size_t keep = scratch_.size();
  if (params_.top_k > 0) keep = std::min<size_t>(keep, params_.top_k);
  auto by_logit = [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  if (keep < scratch_.size()) {
    std::partial_sort(scratch_.begin(), scratch_.begin() + keep, scratch_.end(), by_logit);
    scratch_.resize(keep);
  } else {
    std::sort(scratch_.begin(), scratch_.end(), by_logit);
  }
  // Probabilities after temperature over the kept candidates.
  std::vector<double> probs(scratch_.size());
  const double max_scaled = scratch_[0].first * inv_t;
  double total = 0.0;
  for (size_t i = 0; i < scratch_.size(); ++i) {
    probs[i] = std::exp(scratch_[i].first * inv_t - max_scaled);
    total += probs[i];
  }
  for (double& p : probs) p /= total;
  size_t n = probs.size();
  if (params_.top_p < 1.0f) {
    double cumulative = 0.0;
    for (size_t i = 0; i < probs.size(); ++i) {
      cumulative += probs[i];
      if (cumulative >= params_.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    const double threshold = params_.min_p * probs[0];
    size_t m = 0;
    while (m < n && probs[m] >= threshold) ++m;
    n = std::max<size_t>(m, 1);
  }
  double kept_total = 0.0;
  for (size_t i = 0; i < n; ++i) kept_total += probs[i];
  const double u = std::uniform_real_distribution<double>(0.0, kept_total)(rng_);
  double cumulative = 0.0;
  for (size_t i = 0; i < n; ++i) {
    cumulative += probs[i];
    if (u < cumulative) return scratch_[i].second;
  }
  return scratch_[n - 1].second;
}

SampleResult Sampler::Sample(std::span<float> logits, uint32_t num_top_logprobs,
                             bool want_logprob) {
  SampleResult result;
  std::vector<float> logprobs;
  if (want_logprob || num_top_logprobs > 0) {
    logprobs.resize(logits.size());
    LogSoftmaxRow(logits, logprobs);
  }
  ApplyPenalties(logits);
  if (params_.temperature < 1e-5f) {
    result.token_id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  } else {
    result.token_id = Draw(logits);
  }
  if (!logprobs.empty()) {
    result.logprob = logprobs[result.token_id];
    std::vector<int32_t> order(logprobs.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int32_t>(i);
    const size_t k = std::min<size_t>(num_top_logprobs, order.size());
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
      return logprobs[a] != logprobs[b] ? logprobs[a] > logprobs[b] : a < b;
    });
    for (size_t i = 0; i < k; ++i) result.top.push_back({order[i], logprobs[order[i]]});
  }
  output_counts_[result.token_id] += 1;
  if (params_.repetition_penalty != 1.0f) {
    auto it = std::lower_bound(seen_tokens_.begin(), seen_tokens_.end(), result.token_id);
    if (it == seen_tokens_.end() || *it != result.token_id) seen_tokens_.insert(it, result.token_id);
  }
  return result;
}

}  // namespace attnserve

// RouteTopK (see moe_router.h).
#include "engine/moe/moe_router.h"

#include <algorithm>
#include <cmath>

namespace attnserve {

void RouteTopK(const float* logits, int64_t T, int64_t E, int64_t k, bool normalize,
               RoutingTable& out) {
  out.num_tokens = T;
  out.top_k = k;
  out.experts.resize(T * k);
  out.weights.resize(T * k);
  std::vector<float> p(E);
  std::vector<int32_t> order(E);
  for (int64_t t = 0; t < T; ++t) {
    const float* row = logits + t * E;
    const float mx = *std::max_element(row, row + E);
    float sum = 0.0f;
    for (int64_t e = 0; e < E; ++e) sum += (p[e] = std::exp(row[e] - mx));
    for (int64_t e = 0; e < E; ++e) p[e] /= sum;
    for (int64_t e = 0; e < E; ++e) order[e] = static_cast<int32_t>(e);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
      return p[a] != p[b] ? p[a] > p[b] : a < b;
    });
    float top_sum = 0.0f;
    for (int64_t j = 0; j < k; ++j) top_sum += p[order[j]];
    for (int64_t j = 0; j < k; ++j) {
      out.experts[t * k + j] = order[j];
      out.weights[t * k + j] = normalize ? p[order[j]] / top_sum : p[order[j]];
    }
  }
}

}  // namespace attnserve

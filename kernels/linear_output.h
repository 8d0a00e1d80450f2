// LinearOutput: one output of Backend::Linears (several Linears sharing one input, e.g. a layer's
// q/k/v or gate/up projections): y f32[m, w.rows] = x f32[m, w.cols] · w^T (+ bias f32[w.rows]
// when non-null). Views only; nothing is owned.
#pragma once

#include "kernels/weight_matrix.h"

namespace attnserve {

struct LinearOutput {
  WeightMatrix w;
  const float* bias = nullptr;
  float* y = nullptr;
};

}  // namespace attnserve

// WeightMatrix: a read-only view of a 2-D weight in Hugging Face nn.Linear layout
// [rows = out_features, cols = in_features], each row contiguous, stored in `dtype`
// (kernels/dtype.h): row r starts at data + r · DTypeRowBytes(dtype, cols). Block dtypes need
// cols % kQuantBlock == 0. The view does not own its memory (engine/loader keeps it alive).
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace attnserve {

struct WeightMatrix {
  DType dtype = DType::kF32;
  const void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  // Multiply with exact f32 activations even where the backend quantizes activations for block
  // dtypes (--quantize_activations): set on the lm_head, whose logits decide greedy tokens.
  bool exact_activations = false;

  size_t row_bytes() const { return DTypeRowBytes(dtype, cols); }
  const unsigned char* row(int64_t r) const {
    return static_cast<const unsigned char*>(data) + static_cast<size_t>(r) * row_bytes();
  }
  // Rows [begin, begin + count) as a matrix of their own.
  WeightMatrix Rows(int64_t begin, int64_t count) const {
    return {dtype, row(begin), count, cols, exact_activations};
  }
  size_t nbytes() const { return static_cast<size_t>(rows) * row_bytes(); }
};

}  // namespace attnserve

// SsmChunk: one sequence's slice of a packed forward batch as a state-space mixer sees it — its
// tokens are rows [row, row + num_tokens) of the batch, and `state` is this layer's recurrent
// state of that sequence (conv state then SSM state, SsmSpec::state_floats floats), carried from
// the sequence's previous chunk (zeros at its start).
#pragma once

#include <cstdint>

namespace attnserve {

struct SsmChunk {
  int64_t row = 0;         // first row of the chunk in the packed batch
  int64_t num_tokens = 0;
  float* state = nullptr;  // f32[SsmSpec::state_floats(mixer)] (in/out)
};

}  // namespace attnserve

// Executor: runs a BatchPlan on the model (design.md §1: the scheduler plans, the executor
// executes). Owns the paged KV pool whose blocks the scheduler hands out. Engine-thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engine/llama_model.h"
#include "engine/paged_kv_pool.h"
#include "kernels/backend.h"
#include "scheduler/batch_plan.h"

namespace attnserve {

struct StepOutput {
  std::vector<float> logits;          // f32[num_rows, vocab_size]
  std::vector<int64_t> first_row;     // per plan chunk: its first logits row, or -1
  int64_t vocab_size = 0;
  const float* row(int64_t r) const { return logits.data() + r * vocab_size; }
};

class Executor {
 public:
  Executor(LlamaModel& model, Backend& backend, int64_t num_blocks, int64_t block_size);

  // `tokens_of(seq_id)` gives the sequence's tokens (prompt + generated).
  StepOutput Run(const BatchPlan& plan,
                 const std::function<const std::vector<int32_t>&(int64_t)>& tokens_of);

 private:
  LlamaModel& model_;
  Backend& backend_;
  PagedKvPool pool_;
};

}  // namespace attnserve

// Executor: runs a BatchPlan on the model (design.md §1: the scheduler plans, the executor
// executes). Owns each running sequence's KV cache: allocated on the sequence's first chunk,
// freed by RemoveSequence. Engine-thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/llama_model.h"
#include "kernels/backend.h"
#include "scheduler/batch_plan.h"

namespace attnserve {

// What the executor needs to know of a sequence.
struct ExecutorSequence {
  const std::vector<int32_t>* token_ids = nullptr;  // prompt + generated so far
  int32_t max_total_tokens = 0;                     // KV capacity to allocate
};

struct StepOutput {
  std::vector<float> logits;          // f32[num_rows, vocab_size]
  std::vector<int64_t> first_row;     // per plan chunk: its first logits row, or -1
  int64_t vocab_size = 0;
  const float* row(int64_t r) const { return logits.data() + r * vocab_size; }
};

class Executor {
 public:
  Executor(LlamaModel& model, Backend& backend) : model_(model), backend_(backend) {}

  StepOutput Run(const BatchPlan& plan, const std::function<ExecutorSequence(int64_t)>& lookup);
  void RemoveSequence(int64_t seq_id) { kv_.erase(seq_id); }
  int64_t kv_bytes_in_use() const;

 private:
  LlamaModel& model_;
  Backend& backend_;
  std::unordered_map<int64_t, std::unique_ptr<SequenceKvCache>> kv_;
};

}  // namespace attnserve

// Executor: runs a BatchPlan on the model (docs/architecture.md, "Request path": the scheduler
// plans, the executor executes). Owns the memory whose bookkeeping the scheduler does: the paged KV
// pool of the attention layers (blocks), and the RecurrentState slots of models with state-space
// layers (num_state_slots × ModelConfig::ssm_state_floats floats, allocated up front). It also
// keeps the per-request linear-attention states of sequences whose attention has linear layers
// (sized by their plan), freed by ReleaseState. Any state restarts from its initial value when
// a sequence's chunk starts at position 0 (first run or recompute after preemption).
// Engine-thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/attention/attention_plan.h"
#include "engine/model/decoder_model.h"
#include "engine/memory/paged_kv_pool.h"
#include "kernels/backend.h"
#include "scheduler/batch_plan.h"

namespace attnserve {

struct StepOutput {
  std::vector<float> logits;          // f32[num_rows, vocab_size]
  std::vector<int64_t> first_row;     // per plan chunk: its first logits row, or -1
  int64_t vocab_size = 0;
  const float* row(int64_t r) const { return logits.data() + r * vocab_size; }
};

// What the executor needs of a scheduled sequence.
struct SequenceView {
  const std::vector<int32_t>* tokens = nullptr;  // prompt + generated
  const AttentionPlan* attention = nullptr;      // its per-layer attention
  const ContextPlan* context = nullptr;          // its positions (null: the model's default)
};

class Executor {
 public:
  Executor(DecoderModel& model, Backend& backend, int64_t num_blocks, int64_t block_size,
           int64_t num_state_slots = 0);

  StepOutput Run(const BatchPlan& plan, const std::function<SequenceView(int64_t)>& sequence_of);

  // Frees a sequence's recurrent state (finished, cancelled or preempted). Unknown ids: no-op.
  void ReleaseState(int64_t seq_id) { states_.erase(seq_id); }
  int64_t num_states() const { return static_cast<int64_t>(states_.size()); }

 private:
  DecoderModel& model_;
  Backend& backend_;
  PagedKvPool pool_;
  std::unordered_map<int64_t, std::vector<float>> states_;  // seq_id -> f32[plan state_floats]
  int64_t slot_floats_ = 0;           // ModelConfig::ssm_state_floats()
  std::vector<float> state_slots_;    // f32[num_state_slots, slot_floats_]
};

}  // namespace attnserve

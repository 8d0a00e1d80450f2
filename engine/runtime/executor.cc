// Executor implementation: BatchPlan -> ForwardChunks -> DecoderModel::Forward.
#include "engine/runtime/executor.h"

#include <algorithm>

namespace attnserve {

Executor::Executor(DecoderModel& model, Backend& backend, int64_t num_blocks, int64_t block_size,
                   int64_t num_state_slots)
    : model_(model),
      backend_(backend),
      pool_(model.config().num_attention_layers(), num_blocks, block_size, model.config().kv_dim()),
      slot_floats_(model.config().ssm_state_floats()),
      state_slots_(num_state_slots * slot_floats_) {}

StepOutput Executor::Run(const BatchPlan& plan,
                         const std::function<SequenceView(int64_t)>& sequence_of) {
  for (int64_t seq_id : plan.preempted) ReleaseState(seq_id);
  const ModelConfig& c = model_.config();
  std::vector<ForwardChunk> chunks;
  chunks.reserve(plan.chunks.size());
  StepOutput out;
  out.vocab_size = c.vocab_size;
  int64_t next_row = 0;
  for (const ScheduledChunk& sc : plan.chunks) {
    const SequenceView seq = sequence_of(sc.seq_id);
    ForwardChunk fc;
    fc.token_ids = seq.tokens->data() + sc.start_pos;
    fc.start_pos = sc.start_pos;
    fc.num_tokens = sc.num_tokens;
    fc.block_table = sc.block_table.data();
    fc.all_logits = sc.all_logits;
    fc.want_logits = sc.all_logits || sc.needs_sample;
    fc.attention = seq.attention;
    fc.context = seq.context;
    if (seq.attention->state_floats > 0) {
      std::vector<float>& state = states_[sc.seq_id];
      if (sc.start_pos == 0 || state.empty()) {
        // Chunks of a sequence run in order from position 0 (no prefix reuse with a state).
        state.assign(seq.attention->state_floats, 0.0f);
        for (const LayerAttention& a : seq.attention->layers) {
          if (a.kind == LayerAttention::Kind::kLinear)
            LinearStateInit(state.data() + a.state_offset, c.num_key_value_heads, a.num_features, c.head_dim);
        }
      }
      fc.state = state.data();
    }
    if (sc.state_slot >= 0) {
      float* slot = state_slots_.data() + sc.state_slot * slot_floats_;
      if (sc.start_pos == 0) std::fill(slot, slot + slot_floats_, 0.0f);  // conv and SSM states start at zero
      fc.ssm_state = slot;
    }
    chunks.push_back(fc);
    out.first_row.push_back(fc.want_logits ? next_row : -1);
    next_row += sc.all_logits ? sc.num_tokens : (fc.want_logits ? 1 : 0);
  }
  model_.Forward(chunks, pool_, backend_, out.logits);
  return out;
}

}  // namespace attnserve

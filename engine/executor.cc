// Executor implementation: BatchPlan -> ForwardChunks -> LlamaModel::Forward.
#include "engine/executor.h"

namespace attnserve {

Executor::Executor(LlamaModel& model, Backend& backend, int64_t num_blocks, int64_t block_size)
    : model_(model),
      backend_(backend),
      pool_(model.config().num_hidden_layers, num_blocks, block_size, model.config().kv_dim()) {}

StepOutput Executor::Run(const BatchPlan& plan,
                         const std::function<const std::vector<int32_t>&(int64_t)>& tokens_of) {
  std::vector<ForwardChunk> chunks;
  chunks.reserve(plan.chunks.size());
  StepOutput out;
  out.vocab_size = model_.config().vocab_size;
  int64_t next_row = 0;
  for (const ScheduledChunk& sc : plan.chunks) {
    ForwardChunk fc;
    fc.token_ids = tokens_of(sc.seq_id).data() + sc.start_pos;
    fc.start_pos = sc.start_pos;
    fc.num_tokens = sc.num_tokens;
    fc.block_table = sc.block_table.data();
    fc.all_logits = sc.all_logits;
    fc.want_logits = sc.all_logits || sc.needs_sample;
    chunks.push_back(fc);
    out.first_row.push_back(fc.want_logits ? next_row : -1);
    next_row += sc.all_logits ? sc.num_tokens : (fc.want_logits ? 1 : 0);
  }
  model_.Forward(chunks, pool_, backend_, out.logits);
  return out;
}

}  // namespace attnserve

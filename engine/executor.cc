// Executor implementation: BatchPlan -> ForwardChunks -> LlamaModel::Forward.
#include "engine/executor.h"

namespace attnserve {

StepOutput Executor::Run(const BatchPlan& plan,
                         const std::function<ExecutorSequence(int64_t)>& lookup) {
  const ModelConfig& c = model_.config();
  std::vector<ForwardChunk> chunks;
  chunks.reserve(plan.chunks.size());
  StepOutput out;
  out.vocab_size = c.vocab_size;
  int64_t next_row = 0;
  for (const ScheduledChunk& sc : plan.chunks) {
    ExecutorSequence seq = lookup(sc.seq_id);
    std::unique_ptr<SequenceKvCache>& kv = kv_[sc.seq_id];
    if (!kv) kv = std::make_unique<SequenceKvCache>(c.num_hidden_layers, seq.max_total_tokens, c.kv_dim());
    ForwardChunk fc;
    fc.token_ids = seq.token_ids->data() + sc.start_pos;
    fc.start_pos = sc.start_pos;
    fc.num_tokens = sc.num_tokens;
    fc.kv = kv.get();
    fc.all_logits = sc.all_logits;
    fc.want_logits = sc.all_logits || sc.needs_sample;
    chunks.push_back(fc);
    out.first_row.push_back(fc.want_logits ? next_row : -1);
    next_row += sc.all_logits ? sc.num_tokens : (fc.want_logits ? 1 : 0);
  }
  model_.Forward(chunks, backend_, out.logits);
  return out;
}

int64_t Executor::kv_bytes_in_use() const {
  int64_t total = 0;
  for (const auto& [id, kv] : kv_) total += kv->bytes();
  return total;
}

}  // namespace attnserve

// Scheduler implementation: see scheduler.h for the policy.
#include "scheduler/scheduler.h"

#include <algorithm>
#include <cassert>

namespace attnserve {

Scheduler::Scheduler(const SchedulerConfig& config) : config_(config) {}

void Scheduler::Add(const SequenceInfo& info) {
  assert(info.max_total_tokens <= config_.kv_capacity_tokens);
  Entry e;
  e.info = info;
  e.arrival = next_arrival_++;
  seqs_[info.seq_id] = e;
  auto before = [this](int64_t a, int64_t b) {
    const Entry& ea = seqs_.at(a);
    const Entry& eb = seqs_.at(b);
    if (ea.info.priority != eb.info.priority) return ea.info.priority < eb.info.priority;
    return ea.arrival < eb.arrival;
  };
  waiting_.insert(std::upper_bound(waiting_.begin(), waiting_.end(), info.seq_id, before),
                  info.seq_id);
}

int32_t Scheduler::ScheduleChunk(Entry& e, int32_t budget, BatchPlan& plan) {
  const int32_t remaining = e.info.num_tokens - e.num_computed_tokens;
  const int32_t take = std::min(remaining, budget);
  if (take <= 0) return 0;
  ScheduledChunk chunk;
  chunk.seq_id = e.info.seq_id;
  chunk.start_pos = e.num_computed_tokens;
  chunk.num_tokens = take;
  chunk.all_logits = e.info.all_logits;
  chunk.needs_sample = !e.info.all_logits && take == remaining;
  chunk.first_chunk = !e.scheduled_once;
  e.scheduled_once = true;
  plan.chunks.push_back(chunk);
  return take;
}

BatchPlan Scheduler::Step() {
  BatchPlan plan;
  int32_t budget = config_.max_num_batched_tokens;
  for (int64_t id : running_) {
    if (budget <= 0) break;
    budget -= ScheduleChunk(seqs_.at(id), budget, plan);
  }
  // Admit waiting sequences in (priority, arrival) order; stop at the first that does not fit
  // so that a large high-priority request is not starved by smaller ones behind it.
  while (!waiting_.empty() && budget > 0 &&
         static_cast<int32_t>(running_.size()) < config_.max_num_seqs) {
    Entry& e = seqs_.at(waiting_.front());
    if (reserved_tokens_ + e.info.max_total_tokens > config_.kv_capacity_tokens) break;
    reserved_tokens_ += e.info.max_total_tokens;
    e.running = true;
    running_.push_back(e.info.seq_id);
    waiting_.erase(waiting_.begin());
    budget -= ScheduleChunk(e, budget, plan);
  }
  return plan;
}

void Scheduler::OnStepDone(const BatchPlan& plan) {
  for (const ScheduledChunk& c : plan.chunks) {
    auto it = seqs_.find(c.seq_id);
    if (it == seqs_.end()) continue;  // removed meanwhile (cancelled)
    it->second.num_computed_tokens = c.start_pos + c.num_tokens;
  }
}

void Scheduler::AppendToken(int64_t seq_id) {
  auto it = seqs_.find(seq_id);
  if (it != seqs_.end()) it->second.info.num_tokens += 1;
}

void Scheduler::Remove(int64_t seq_id) {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return;
  if (it->second.running) {
    reserved_tokens_ -= it->second.info.max_total_tokens;
    running_.erase(std::find(running_.begin(), running_.end(), seq_id));
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), seq_id));
  }
  seqs_.erase(it);
}

int32_t Scheduler::num_computed_tokens(int64_t seq_id) const {
  auto it = seqs_.find(seq_id);
  return it == seqs_.end() ? 0 : it->second.num_computed_tokens;
}

}  // namespace attnserve

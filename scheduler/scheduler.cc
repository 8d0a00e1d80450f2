// Scheduler implementation: see scheduler.h for the policy.
#include "scheduler/scheduler.h"

#include <algorithm>
#include <cassert>

#include "scheduler/prefix_hash.h"

namespace attnserve {

Scheduler::Scheduler(const SchedulerConfig& config)
    : config_(config), pool_(config.num_blocks), slots_(config.num_state_slots) {}

bool Scheduler::Before(const Entry& a, const Entry& b) const {
  if (a.info.priority != b.info.priority) return a.info.priority < b.info.priority;
  return a.arrival < b.arrival;
}

void Scheduler::InsertWaiting(int64_t seq_id) {
  auto it = std::upper_bound(waiting_.begin(), waiting_.end(), seq_id, [this](int64_t a, int64_t b) {
    return Before(seqs_.at(a), seqs_.at(b));
  });
  waiting_.insert(it, seq_id);
}

void Scheduler::Add(const SequenceInfo& info) {
  assert(info.tokens != nullptr && !info.tokens->empty());
  Entry e;
  e.info = info;
  e.arrival = next_arrival_++;
  e.seed_hash = PrefixHashSeed(info.retention.cache_salt.empty()
                                   ? config_.cache_key
                                   : config_.cache_key + "|attention=" + info.retention.cache_salt);
  seqs_[info.seq_id] = std::move(e);
  InsertWaiting(info.seq_id);
}

bool Scheduler::EnsureBlocks(Entry& e, int32_t num_positions) {
  if (!e.info.retention.uses_kv) return true;
  const int32_t bs = config_.block_size;
  const int32_t need = (num_positions + bs - 1) / bs - static_cast<int32_t>(e.blocks.size());
  if (need <= 0) return true;
  if (pool_.num_free() < need) return false;
  for (int32_t i = 0; i < need; ++i) e.blocks.push_back(pool_.Allocate());
  return true;
}

void Scheduler::ReleaseBlocks(Entry& e) {
  // Tail first: the LRU then evicts a sequence's later blocks before its shared prefix.
  for (auto it = e.blocks.rbegin(); it != e.blocks.rend(); ++it)
    if (*it >= 0) pool_.Release(*it);
  e.blocks.clear();
  e.block_hashes.clear();
  e.release_cursor = -1;
  e.num_released = 0;
}

void Scheduler::ReleaseUnreachable(Entry& e) {
  const KvRetention& r = e.info.retention;
  if (!r.bounded || !r.uses_kv) return;
  const int32_t bs = config_.block_size;
  // The next query is at position num_computed_tokens; keys below LowestReachable() are dead for
  // it and every later query, except the sink tokens' blocks.
  const int32_t lowest = r.LowestReachable(e.num_computed_tokens);
  if (e.release_cursor < 0) e.release_cursor = (r.sink_tokens + bs - 1) / bs;
  while (e.release_cursor < static_cast<int32_t>(e.blocks.size()) && (e.release_cursor + 1) * bs <= lowest) {
    int32_t& block = e.blocks[e.release_cursor];
    if (block >= 0) {
      pool_.Release(block);
      block = -1;
      ++e.num_released;
    }
    ++e.release_cursor;
  }
}

void Scheduler::Preempt(Entry& e, BatchPlan& plan) {
  ReleaseBlocks(e);
  slots_.Free(e.state_slot);
  e.state_slot = -1;
  e.num_computed_tokens = 0;
  e.running = false;
  running_.erase(std::find(running_.begin(), running_.end(), e.info.seq_id));
  InsertWaiting(e.info.seq_id);
  plan.preempted.push_back(e.info.seq_id);
  ++stats_.num_preemptions;
}

Scheduler::Entry* Scheduler::PreemptionVictim(const Entry* candidate) {
  Entry* worst = nullptr;
  for (int64_t id : running_) {
    Entry& r = seqs_.at(id);
    if (r.scheduled_this_step && &r != candidate) continue;
    if (worst == nullptr || Before(*worst, r)) worst = &r;
  }
  return worst;
}

uint64_t Scheduler::ParentHash(const Entry& e, size_t block_index) const {
  return block_index == 0 ? e.seed_hash : e.block_hashes[block_index - 1];
}

bool Scheduler::ReusePrefix(Entry& e) {
  if (!config_.enable_prefix_caching || e.info.all_logits || !e.info.retention.reuse_prefix ||
      !e.info.retention.uses_kv) {
    return false;
  }
  const int32_t bs = config_.block_size;
  const std::vector<int32_t>& tokens = *e.info.tokens;
  // At least the last token is computed, so its logits exist for sampling.
  const int32_t max_blocks = (e.num_tokens() - 1) / bs;
  for (int32_t i = 0; i < max_blocks; ++i) {
    const uint64_t h = BlockHash(ParentHash(e, i), {tokens.data() + i * bs, static_cast<size_t>(bs)});
    std::optional<int32_t> block = pool_.Lookup(h);
    if (!block) break;
    pool_.Ref(*block);
    e.blocks.push_back(*block);
    e.block_hashes.push_back(h);
  }
  e.num_computed_tokens = static_cast<int32_t>(e.blocks.size()) * bs;
  return true;
}

void Scheduler::AppendChunk(Entry& e, int32_t take, BatchPlan& plan) {
  ScheduledChunk chunk;
  chunk.seq_id = e.info.seq_id;
  chunk.start_pos = e.num_computed_tokens;
  chunk.num_tokens = take;
  chunk.all_logits = e.info.all_logits;
  chunk.needs_sample = !e.info.all_logits && e.num_computed_tokens + take == e.num_tokens();
  chunk.first_chunk = !e.scheduled_once;
  chunk.block_table = e.blocks;
  chunk.state_slot = e.state_slot;
  e.scheduled_once = true;
  e.scheduled_this_step = true;
  plan.chunks.push_back(std::move(chunk));
}

BatchPlan Scheduler::Step() {
  BatchPlan plan;
  for (int64_t id : running_) seqs_.at(id).scheduled_this_step = false;
  int32_t budget = config_.max_num_batched_tokens;

  // 0. Priority preemption: the first waiting sequence takes the seat or the blocks it needs
  // from running sequences of strictly lower priority (lowest first, latest arrival first).
  while (!waiting_.empty()) {
    Entry& w = seqs_.at(waiting_.front());
    Entry* victim = PreemptionVictim(nullptr);
    if (victim == nullptr || victim->info.priority <= w.info.priority) break;
    const int32_t first_chunk = std::min(w.num_tokens() - w.num_computed_tokens, budget);
    const int32_t blocks_needed =
        w.info.retention.uses_kv ? (first_chunk + config_.block_size - 1) / config_.block_size : 0;
    const bool has_seat = static_cast<int32_t>(running_.size()) < config_.max_num_seqs &&
                          (!w.info.needs_state_slot || slots_.num_free() > 0);
    if (has_seat && pool_.num_free() >= blocks_needed) break;
    Preempt(*victim, plan);
  }

  // 1. Running sequences, in admission order; preempt when blocks run out.
  bool memory_pressure = false;
  const std::vector<int64_t> order = running_;
  for (int64_t id : order) {
    if (budget <= 0) break;
    Entry& e = seqs_.at(id);
    if (!e.running) continue;  // preempted earlier in this step
    const int32_t take = std::min(e.num_tokens() - e.num_computed_tokens, budget);
    if (take <= 0) continue;
    bool self_preempted = false;
    while (!EnsureBlocks(e, e.num_computed_tokens + take)) {
      memory_pressure = true;
      Entry* victim = PreemptionVictim(&e);
      Preempt(*victim, plan);
      if (victim == &e) {
        self_preempted = true;
        break;
      }
    }
    if (self_preempted) continue;
    AppendChunk(e, take, plan);
    budget -= take;
  }

  // 2. Waiting sequences by (priority, arrival). A newcomer may preempt strictly lower-priority
  // running sequences; otherwise admission stops at the first one that does not fit, so a large
  // high-priority request is not starved by smaller ones behind it.
  while (!memory_pressure && !waiting_.empty() && budget > 0) {
    Entry& e = seqs_.at(waiting_.front());
    auto preempt_lower = [&]() {
      Entry* victim = PreemptionVictim(nullptr);
      if (victim == nullptr || victim->info.priority <= e.info.priority) return false;
      Preempt(*victim, plan);
      return true;
    };
    if (static_cast<int32_t>(running_.size()) >= config_.max_num_seqs && !preempt_lower()) break;
    if (e.info.needs_state_slot && slots_.num_free() == 0 && !preempt_lower()) break;
    // Counted only once the sequence is admitted: an attempt that does not fit is retried.
    const bool looked_up = e.blocks.empty() && ReusePrefix(e);
    const int32_t take = std::min(e.num_tokens() - e.num_computed_tokens, budget);
    bool fits = true;
    while (!EnsureBlocks(e, e.num_computed_tokens + take)) {
      if (!preempt_lower()) {
        fits = false;
        break;
      }
    }
    if (!fits) {
      ReleaseBlocks(e);  // give back prefix-cache references; retried next step
      e.num_computed_tokens = 0;
      break;
    }
    if (looked_up) {
      stats_.prefix_queried_tokens += e.num_tokens();
      stats_.prefix_hit_tokens += e.num_computed_tokens;
    }
    waiting_.erase(waiting_.begin());
    if (e.info.needs_state_slot) e.state_slot = slots_.Take();
    e.running = true;
    running_.push_back(e.info.seq_id);
    AppendChunk(e, take, plan);
    budget -= take;
  }
  return plan;
}

void Scheduler::OnStepDone(const BatchPlan& plan) {
  const int32_t bs = config_.block_size;
  for (const ScheduledChunk& c : plan.chunks) {
    auto it = seqs_.find(c.seq_id);
    if (it == seqs_.end() || !it->second.running) continue;  // removed or preempted meanwhile
    Entry& e = it->second;
    e.num_computed_tokens = c.start_pos + c.num_tokens;
    if (!config_.enable_prefix_caching || !e.info.retention.uses_kv) continue;
    const std::vector<int32_t>& tokens = *e.info.tokens;
    for (size_t i = e.block_hashes.size(); static_cast<int32_t>((i + 1) * bs) <= e.num_computed_tokens; ++i) {
      const uint64_t h = BlockHash(ParentHash(e, i), {tokens.data() + i * bs, static_cast<size_t>(bs)});
      if (e.blocks[i] >= 0) pool_.SetHash(e.blocks[i], h);
      e.block_hashes.push_back(h);
    }
  }
  for (const ScheduledChunk& c : plan.chunks) {
    auto it = seqs_.find(c.seq_id);
    if (it != seqs_.end() && it->second.running) ReleaseUnreachable(it->second);
  }
}

void Scheduler::Remove(int64_t seq_id) {
  auto it = seqs_.find(seq_id);
  if (it == seqs_.end()) return;
  Entry& e = it->second;
  if (e.running) {
    running_.erase(std::find(running_.begin(), running_.end(), seq_id));
  } else {
    waiting_.erase(std::find(waiting_.begin(), waiting_.end(), seq_id));
  }
  ReleaseBlocks(e);
  slots_.Free(e.state_slot);
  seqs_.erase(it);
}

bool Scheduler::IsRunning(int64_t seq_id) const {
  auto it = seqs_.find(seq_id);
  return it != seqs_.end() && it->second.running;
}

int32_t Scheduler::num_computed_tokens(int64_t seq_id) const {
  auto it = seqs_.find(seq_id);
  return it == seqs_.end() ? 0 : it->second.num_computed_tokens;
}

const std::vector<int32_t>& Scheduler::block_table(int64_t seq_id) const {
  return seqs_.at(seq_id).blocks;
}

int64_t Scheduler::num_tokens_in_blocks() const {
  int64_t n = 0;
  for (int64_t id : running_) {
    const Entry& e = seqs_.at(id);
    if (e.info.retention.uses_kv)
      n += e.num_computed_tokens - int64_t{e.num_released} * config_.block_size;
  }
  return n;
}

}  // namespace attnserve

// RequestObserver: the engine reports request lifecycle events here; server/ implements it with
// prometheus-cpp (server/metrics.h). Called from the engine thread: implementations must be
// thread-safe and must not block. Score requests count as requests too (finish reason "stop").
#pragma once

#include <cstdint>
#include <string>

#include "engine/request/request_types.h"

namespace attnserve {

class RequestObserver {
 public:
  virtual ~RequestObserver() = default;
  // Time from arrival to first scheduling, seconds.
  virtual void OnScheduled(double queue_time_s) = 0;
  virtual void OnFirstToken(double ttft_s) = 0;
  // Time since the previous token of the same request, seconds.
  virtual void OnInterTokenLatency(double itl_s) = 0;
  virtual void OnPromptTokens(uint64_t n) = 0;
  virtual void OnGenerationTokens(uint64_t n) = 0;
  virtual void OnFinished(FinishReason reason, double e2e_s) = 0;
  // Current scheduler occupancy.
  virtual void OnQueueState(int64_t num_running, int64_t num_waiting) = 0;
  // A running sequence was preempted (its KV freed; it will be recomputed).
  virtual void OnPreemption() = 0;
  // Prefix-cache lookup at admission: `queried` prompt tokens looked up, `hit` found cached.
  virtual void OnPrefixCacheQuery(uint64_t queried, uint64_t hit) = 0;
  // KV pool occupancy after a step: blocks in use, total blocks.
  virtual void OnKvCacheUsage(int64_t used_blocks, int64_t total_blocks) = 0;
  // MoE models, after a step: `tokens` more (token, expert) pairs were routed to `expert` of
  // `layer`; a shard computed `tokens` more pairs; the recent max/mean shard load.
  virtual void OnExpertTokens(int64_t layer, int64_t expert, uint64_t tokens) {}
  // A request was admitted with this attention backend ("default" = the model's own attention).
  virtual void OnAttentionBackend(const std::string& backend) {}
  // A request was admitted under this context policy kind ("model_default" or e.g. "yarn").
  virtual void OnContextPolicy(const std::string& kind) {}
  virtual void OnShardTokens(int64_t shard, uint64_t tokens) {}
  virtual void OnShardImbalance(double max_over_mean) {}
  // Models with state-space layers, after a step: RecurrentState slots held / preallocated.
  virtual void OnStateSlots(int64_t used_slots, int64_t total_slots) {}
};

}  // namespace attnserve

// Folder engine/runtime/: the engine loop — the Engine facade, its per-request state, the executor
// and model info. Top of engine/: may include every other engine/ folder.
//
// Engine: the facade server/ talks to. Owns the model, tokenizer, scheduler and the engine
// thread that loops Scheduler::Step -> Executor::Run -> commit (docs/architecture.md, "Request
// path"). gRPC threads call Submit*/Cancel only; outputs come back through sinks called on the
// engine thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/runtime/model_info.h"
#include "engine/request/request_observer.h"
#include "engine/request/request_types.h"
#include "engine/tokenizer/tokenizer.h"
#include "kernels/dtype.h"

namespace attnserve {

struct EngineOptions {
  std::string model_dir;
  std::string served_model_name;     // reported in ModelInfo; empty = the directory name
  int num_threads = 0;               // 0 = all cores
  // Longest sequence any request may reach; 0 = the model's max_position_embeddings. Above it,
  // requests under an extrapolating context policy (none, dynamic_ntk, sinks, or a scaling
  // factor x original length) may go this far; the KV pool must hold one sequence of it.
  uint32_t max_model_len = 0;
  int32_t max_waiting_requests = 1024;
  int32_t max_num_seqs = 64;             // sequences batched together per step
  int32_t max_num_batched_tokens = 512;  // token budget per step (prefill chunk size)
  int64_t kv_cache_bytes = int64_t{2} << 30;  // paged KV pool size (used when fraction is 0)
  double kv_cache_memory_fraction = 0.0;  // > 0: pool = this fraction of physical RAM
  int32_t block_size = 16;               // tokens per KV block
  bool enable_prefix_caching = true;
  double max_queue_time_s = 0.0;         // > 0: waiting longer ends with DEADLINE_EXCEEDED
  // A request whose deadline would pass in the queue (engine/admission/queue_time_estimator.h) is
  // refused at once with RESOURCE_EXHAUSTED and retry-after.
  bool reject_unmeetable_deadlines = true;
  // Deployment default attention (--attention); empty = the model's own. Requests may override.
  AttentionChoice attention;
  // Deployment default context policy (--context_policy); empty = config.json's rope_scaling.
  ContextPolicyChoice context_policy;
  // MoE models: experts of each MoE layer split over this many workers (threads with their own
  // share of the cores), contiguously or as `expert_placement` (a JSON file) says.
  int32_t expert_shards = 1;
  std::string expert_placement;
  // dtype of the weight matrices in memory (kernels/dtype.h); nullopt = each tensor's file dtype.
  std::optional<DType> weight_dtype;
  // q8_0 / q4_0 weights at decode: activations quantized to int8 blocks (llama.cpp's scheme,
  // faster); false: exactly widened weights, f32 activations (transformers' dequantized result).
  bool quantize_activations = true;
  std::string device = "cpu";  // compute backend (kernels/backend_registry.h: cpu, reference)
  RequestObserver* observer = nullptr;  // not owned; may be null
};

// Receives one request's stream. OnDelta is called on the engine thread, must not block and
// must not call back into the Engine; the last call has delta.finish != kNone.
class GenerateSink {
 public:
  virtual ~GenerateSink() = default;
  virtual void OnDelta(GenerateDelta delta) = 0;
};

class Engine {
 public:
  // Loads config.json, tokenizer.json, generation_config.json (optional) and the weights from
  // options.model_dir; errors name the file and the problem. Does not start the thread.
  static absl::StatusOr<std::unique_ptr<Engine>> Load(const EngineOptions& options);
  ~Engine();  // stops the engine thread; pending requests finish with kCancelled

  void Start();
  void Stop();

  const ModelInfo& info() const;
  const Tokenizer& tokenizer() const;

  // INVALID_ARGUMENT naming the field for: empty prompt, token id outside [0, vocab_size),
  // prompt + max_tokens beyond the context, max_tokens 0, bad sampling values, stop token
  // ids outside the vocabulary, top_logprobs > 20, and bad `attention` choices (unknown
  // backend, parameter out of range or not taken by the backend). Thread-safe.
  absl::Status Validate(const GenerateSpec& spec) const;
  absl::Status Validate(const ScoreSpec& spec) const;

  // Queues a validated request. RESOURCE_EXHAUSTED when the waiting queue is full,
  // UNAVAILABLE when stopping. Thread-safe.
  absl::Status SubmitGenerate(GenerateSpec spec, std::shared_ptr<GenerateSink> sink);
  // `done` is called once on the engine thread. Thread-safe.
  absl::Status SubmitScore(ScoreSpec spec,
                           std::function<void(absl::StatusOr<ScoreResult>)> done);
  // Ends the request with kCancelled (its sink gets a final delta) and frees its memory at the
  // next step. Unknown ids are ignored. Thread-safe.
  void Cancel(const std::string& request_id);

  // What a load-aware router needs (GetServerStatus). Thread-safe; a snapshot published by the
  // engine thread after every step.
  struct Status_ {
    int64_t num_running = 0;
    int64_t num_waiting = 0;
    int64_t num_preemptions_total = 0;
    int64_t kv_blocks_total = 0;
    int64_t kv_blocks_used = 0;        // referenced by running sequences
    int64_t kv_blocks_cached = 0;      // free but holding reusable prefix-cache content
    int32_t block_size = 0;
    int64_t kv_tokens_stored = 0;      // tokens held by running sequences' blocks
    double kv_usage_ratio = 0.0;       // used / total
    int64_t prefix_cache_queries_total = 0;  // prompt tokens looked up
    int64_t prefix_cache_hits_total = 0;     // of which found cached
    double generation_tokens_per_second = 0.0;  // over the last ~10 s
    double prompt_tokens_per_second = 0.0;
    int64_t tokens_computed_total = 0;       // token positions run through the model (work done)
    bool draining = false;
    // Models with state-space layers: RecurrentState slots preallocated / held by running
    // sequences.
    int64_t state_slots_total = 0;
    int64_t state_slots_used = 0;
    // MoE models (empty otherwise).
    std::vector<int64_t> shard_tokens_total;             // (token, expert) pairs computed per shard
    double shard_imbalance = 0.0;                        // max / mean shard load over the last ~10 s
    std::vector<std::vector<int64_t>> expert_tokens_total;  // [layer][expert] (empty for dense layers)
  };
  Status_ CurrentStatus() const;

  // Graceful drain: from now on Submit* return UNAVAILABLE; admitted and queued requests go on.
  // Thread-safe.
  void BeginDrain();
  // True when no request is queued or running. Thread-safe.
  bool Idle() const;

 private:
  struct Impl;
  explicit Engine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace attnserve

// Engine: loading, request intake (thread-safe) and the engine thread's
// Step -> Run -> commit loop (docs/architecture.md, "Request path").
#include "engine/runtime/engine.h"

#include "kernels/backend_registry.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/admission/queue_time_estimator.h"
#include "engine/admission/refusal.h"
#include "engine/runtime/active_request.h"
#include "engine/attention/attention_registry.h"
#include "engine/runtime/executor.h"
#include "engine/request/request_plans.h"
#include "engine/model/decoder_model.h"
#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine/model/model_source.h"
#include "engine/moe/expert_placement.h"
#include "engine/moe/expert_shards.h"
#include "engine/moe/moe_load_tracker.h"
#include "engine/request/request_validation.h"
#include "engine/output/sampler.h"
#include "scheduler/scheduler.h"

namespace attnserve {
namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

struct Engine::Impl {
  EngineOptions options;
  ModelConfig config;
  std::unique_ptr<WeightStore> weights;
  std::unique_ptr<DecoderModel> model;
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<Executor> executor;
  ModelInfo info;
  ValidationLimits limits;
  std::optional<RequestPlanner> planner;                   // --attention / --context_policy, resolved at load
  std::unique_ptr<ExpertShards> expert_shards;             // MoE models
  MoeLoadTracker moe_tracker;                              // MoE counters -> observer, imbalance
  RequestObserver* observer = nullptr;

  // Intake, guarded by mu.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<ActiveRequest>> incoming;
  std::vector<std::string> cancels;
  std::unordered_set<std::string> active_ids;
  bool stopping = false;
  std::thread thread;
  bool draining = false;
  // Published after every step. Lock order: mu before status_mu (never the other way).
  mutable std::mutex status_mu;
  Engine::Status_ status;
  QueueTimeEstimator queue_time_estimator;  // guarded by status_mu

  // Engine thread only.
  std::unordered_map<int64_t, std::unique_ptr<ActiveRequest>> requests;
  std::unordered_map<std::string, int64_t> seq_of_request;
  int64_t next_seq_id = 1;
  SchedulerStats reported;  // scheduler counters already passed to the observer
  // (time, generation tokens total, prompt tokens total) samples for tokens/s over ~10 s.
  std::deque<std::tuple<Clock::time_point, int64_t, int64_t>> throughput_samples;
  int64_t generation_tokens_total = 0;
  int64_t prompt_tokens_total = 0;
  int64_t tokens_computed_total = 0;

  absl::Status Enqueue(std::unique_ptr<ActiveRequest> request);
  // Admission control under mu, `queued` requests ahead: RESOURCE_EXHAUSTED (a Refusal with
  // retry-after) when the queue is full (--max_waiting_requests) or the estimated queue time
  // passes the request's deadline (--reject_unmeetable_deadlines).
  absl::Status AdmitLocked(const ActiveRequest& request, int64_t queued);
  void Loop();
  void Admit(std::unique_ptr<ActiveRequest> request);
  void End(ActiveRequest& request, FinishReason reason, absl::Status error);
  void Release(int64_t seq_id);
  // Consumes the step's logits (sampling modifies its rows in place).
  void Commit(const BatchPlan& plan, StepOutput& out);
  void CommitScore(ActiveRequest& request, const ScheduledChunk& chunk, const StepOutput& out,
                   int64_t first_row);
  void PublishLoad();
  void ExpireDeadlines();
};

absl::StatusOr<std::unique_ptr<Engine>> Engine::Load(const EngineOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->observer = options.observer;
  const std::string& dir = options.model_dir;
  absl::StatusOr<ModelSource> source = OpenModelSource(dir);
  if (!source.ok()) return source.status();
  impl->config = source->config;
  impl->tokenizer = std::move(source->tokenizer);
  impl->weights = std::move(source->weights);
  absl::StatusOr<std::unique_ptr<DecoderModel>> model = DecoderModel::Load(impl->config, *impl->weights,
                                                                          options.weight_dtype);
  if (!model.ok()) return model.status();
  impl->model = std::move(*model);
  absl::StatusOr<std::unique_ptr<Backend>> backend =
      MakeBackend(options.device, {options.num_threads, options.quantize_activations});
  if (!backend.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--device: ", backend.status().message()));
  }
  impl->backend = std::move(*backend);

  const ModelConfig& c = impl->config;
  const int64_t max_model_len =
      options.max_model_len > 0 ? int64_t{options.max_model_len} : c.max_position_embeddings;
  if (options.max_num_seqs < 1 || options.max_num_batched_tokens < 1 || options.block_size < 1) {
    return absl::InvalidArgumentError(
        "--max_num_seqs, --max_num_batched_tokens and --block_size must be >= 1");
  }
  if (!(options.kv_cache_memory_fraction >= 0.0 && options.kv_cache_memory_fraction < 1.0)) {
    return absl::InvalidArgumentError("--kv_cache_memory_fraction must be in [0, 1)");
  }
  int64_t kv_bytes = options.kv_cache_bytes;
  std::string kv_source = absl::StrCat("--kv_cache_bytes=", kv_bytes);
  if (options.kv_cache_memory_fraction > 0) {
    const double ram = static_cast<double>(sysconf(_SC_PHYS_PAGES)) * sysconf(_SC_PAGE_SIZE);
    kv_bytes = static_cast<int64_t>(options.kv_cache_memory_fraction * ram);
    kv_source = absl::StrCat("--kv_cache_memory_fraction=", options.kv_cache_memory_fraction,
                             " (", kv_bytes, " bytes)");
  }
  const int64_t block_bytes = options.block_size * PagedKvPool::BytesPerToken(c.num_attention_layers(), c.kv_dim());
  // Attention-free models (Mamba, Mamba-2) keep no KV cache: one nominal block, never handed out.
  const int64_t num_blocks = block_bytes > 0 ? kv_bytes / block_bytes : 1;
  if (block_bytes > 0 && num_blocks * options.block_size < max_model_len) {
    return absl::InvalidArgumentError(absl::StrCat(
        kv_source, " holds ", num_blocks, " KV blocks of ", options.block_size,
        " tokens for this model, fewer than one full context of ", max_model_len,
        " tokens; raise it or lower --max_model_len"));
  }
  if (num_blocks > int64_t{1} << 30) {
    return absl::InvalidArgumentError(absl::StrCat(kv_source, " asks for too many KV blocks"));
  }
  SchedulerConfig sc;
  sc.max_num_seqs = options.max_num_seqs;
  sc.max_num_batched_tokens = options.max_num_batched_tokens;
  sc.num_blocks = static_cast<int32_t>(num_blocks);
  sc.block_size = options.block_size;
  sc.enable_prefix_caching = options.enable_prefix_caching;
  // One RecurrentState slot per running sequence (ModelConfig::ssm_state_floats floats each).
  const int64_t num_state_slots = c.has_ssm() ? options.max_num_seqs : 0;
  sc.num_state_slots = static_cast<int32_t>(num_state_slots);
  sc.cache_key = absl::StrCat(c.architecture, "|", std::filesystem::absolute(dir).string());
  absl::StatusOr<RequestPlanner> planner =
      RequestPlanner::Create(&impl->config, options.attention, options.context_policy, options.block_size, max_model_len);
  if (!planner.ok()) return planner.status();
  impl->planner = *std::move(planner);
  if (c.moe.num_experts > 0) {
    absl::StatusOr<ExpertPlacement> placement =
        options.expert_placement.empty()
            ? ContiguousPlacement(options.expert_shards, c.moe.num_experts)
            : PlacementFromFile(options.expert_placement, options.expert_shards, c.moe.num_experts);
    if (!placement.ok()) return placement.status();
    impl->expert_shards = std::make_unique<ExpertShards>(*std::move(placement), options.num_threads > 0 ? options.num_threads
                                                         : static_cast<int>(std::thread::hardware_concurrency()),
                                                         impl->backend.get());
    impl->model->SetExpertShards(impl->expert_shards.get());
  } else if (options.expert_shards != 1 || !options.expert_placement.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--expert_shards=", options.expert_shards,
                                                   " / --expert_placement apply to Mixture-of-Experts models; ",
                                                   c.architecture, " has no experts"));
  }
  impl->scheduler = std::make_unique<Scheduler>(sc);
  impl->executor =
      std::make_unique<Executor>(*impl->model, *impl->backend, num_blocks, options.block_size, num_state_slots);
  impl->PublishLoad();  // GetServerStatus is complete before the first step
  impl->limits.vocab_size = c.vocab_size;
  impl->limits.max_model_len = max_model_len;
  impl->info = DescribeModel(dir, c, impl->weights->PredominantDType(), impl->model->num_parameters(),
                             max_model_len, std::string(impl->backend->name()), impl->planner->default_attention());
  impl->info.num_active_parameters = impl->model->num_active_parameters();
  impl->info.matrix_dtype = impl->model->matrix_dtype();
  impl->info.trained_context = c.max_position_embeddings;
  const ContextPlan& default_context = impl->planner->default_context();
  impl->info.default_context_policy =
      default_context.description.empty() ? default_context.kind : default_context.description;
  for (const std::string& k : ContextPolicyKinds()) {
    const bool applies = c.alibi ? k == "model_default" || k == "alibi" : !c.rope ? k == "model_default" : k != "alibi";
    if (applies) impl->info.context_policies.push_back(k);
  }
  if (impl->expert_shards) impl->info.expert_placement = impl->expert_shards->placement().shard_experts;
  std::filesystem::path dir_path = std::filesystem::path(dir).lexically_normal();
  if (!dir_path.has_filename()) dir_path = dir_path.parent_path();  // "models/foo/" -> "foo"
  impl->info.served_model_name =
      options.served_model_name.empty() ? dir_path.filename().string() : options.served_model_name;
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() { Stop(); }

void Engine::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->thread.joinable() || impl_->stopping) return;
  impl_->thread = std::thread([impl = impl_.get()] { impl->Loop(); });
}

void Engine::Stop() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  // Requests that never reached the engine thread (or arrived with no thread running).
  std::deque<std::unique_ptr<ActiveRequest>> left;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    left.swap(impl_->incoming);
  }
  for (auto& r : left) {
    if (r->is_score) r->score_done(absl::UnavailableError("server is shutting down"));
    else r->sink->OnDelta(r->stream->Abort(FinishReason::kCancelled, absl::OkStatus()));
  }
}

const ModelInfo& Engine::info() const { return impl_->info; }
const Tokenizer& Engine::tokenizer() const { return *impl_->tokenizer; }

absl::Status Engine::Validate(const GenerateSpec& spec) const {
  if (absl::Status s = ValidateGenerateSpec(spec, impl_->limits); !s.ok()) return s;
  const size_t n = spec.prompt_token_ids.size();
  return impl_->planner->Resolve(spec.attention, spec.context_policy, n, n + spec.max_tokens).status();
}
absl::Status Engine::Validate(const ScoreSpec& spec) const {
  if (absl::Status s = ValidateScoreSpec(spec, impl_->limits); !s.ok()) return s;
  const size_t n = spec.token_ids.size();
  return impl_->planner->Resolve(spec.attention, spec.context_policy, n, n).status();
}

absl::Status Engine::Impl::AdmitLocked(const ActiveRequest& request, int64_t queued) {
  const Clock::time_point now = Clock::now();
  std::optional<double> wait_s, rate;
  {
    std::lock_guard<std::mutex> status_lock(status_mu);
    wait_s = queue_time_estimator.Estimate(queued, now);
    rate = queue_time_estimator.AdmissionRate(now);
  }
  if (queued >= options.max_waiting_requests) {
    // One place frees up per admission: suggest the time of one (1 s when no rate is known).
    const double retry_s = rate && *rate > 0 ? 1.0 / *rate : 1.0;
    return Refusal(absl::StatusCode::kResourceExhausted,
                   absl::StrFormat("too many waiting requests (%d; limit --max_waiting_requests=%d); "
                                   "retry after %.1f s", queued, options.max_waiting_requests, retry_s),
                   "queue_full", retry_s);
  }
  if (options.reject_unmeetable_deadlines && request.deadline != Clock::time_point::max() && wait_s &&
      now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(*wait_s)) >
          request.deadline) {
    return Refusal(absl::StatusCode::kResourceExhausted,
                   absl::StrFormat("the estimated queue time %.1f s (%d requests waiting, %.2f admitted "
                                   "per second) is longer than the %.1f s left before the request's "
                                   "deadline; retry after %.1f s or with a later deadline",
                                   *wait_s, queued, rate.value_or(0), Seconds(request.deadline - now), *wait_s),
                   "queue_time", *wait_s);
  }
  return absl::OkStatus();
}

absl::Status Engine::Impl::Enqueue(std::unique_ptr<ActiveRequest> request) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (stopping) return absl::UnavailableError("server is shutting down");
    if (draining) return absl::UnavailableError("server is draining: not accepting new requests");
    int64_t queued = static_cast<int64_t>(incoming.size());
    {
      std::lock_guard<std::mutex> status_lock(status_mu);
      queued += status.num_waiting;
    }
    if (absl::Status refused = AdmitLocked(*request, queued); !refused.ok()) return refused;
    if (!active_ids.insert(request->request_id).second) {
      return absl::AlreadyExistsError(
          absl::StrCat("request_id \"", request->request_id, "\" is already in use"));
    }
    incoming.push_back(std::move(request));
  }
  cv.notify_one();
  return absl::OkStatus();
}

absl::Status Engine::SubmitGenerate(GenerateSpec spec, std::shared_ptr<GenerateSink> sink) {
  if (absl::Status s = ValidateGenerateSpec(spec, impl_->limits); !s.ok()) return s;
  const size_t n = spec.prompt_token_ids.size();
  absl::StatusOr<RequestPlans> plans = impl_->planner->Resolve(spec.attention, spec.context_policy, n, n + spec.max_tokens);
  if (!plans.ok()) return plans.status();
  auto r = std::make_unique<ActiveRequest>();
  r->attention = std::move(plans->attention);
  r->context = std::move(plans->context);
  r->request_id = spec.request_id;
  r->arrival = Clock::now();
  r->deadline = spec.deadline;
  r->token_ids = spec.prompt_token_ids;
  r->num_prompt_tokens = static_cast<int32_t>(spec.prompt_token_ids.size());
  r->generate = std::move(spec);
  r->sink = std::move(sink);
  r->stream = std::make_unique<GenerationStream>(r->generate, *impl_->tokenizer, impl_->config.eos_token_ids);
  return impl_->Enqueue(std::move(r));
}

absl::Status Engine::SubmitScore(ScoreSpec spec,
                                 std::function<void(absl::StatusOr<ScoreResult>)> done) {
  if (absl::Status s = ValidateScoreSpec(spec, impl_->limits); !s.ok()) return s;
  const size_t n = spec.token_ids.size();
  absl::StatusOr<RequestPlans> plans = impl_->planner->Resolve(spec.attention, spec.context_policy, n, n);
  if (!plans.ok()) return plans.status();
  auto r = std::make_unique<ActiveRequest>();
  r->attention = std::move(plans->attention);
  r->context = std::move(plans->context);
  r->is_score = true;
  r->request_id = spec.request_id;
  r->arrival = Clock::now();
  r->deadline = spec.deadline;
  r->token_ids = spec.token_ids;
  r->num_prompt_tokens = static_cast<int32_t>(spec.token_ids.size());
  r->score = std::move(spec);
  r->score_done = std::move(done);
  return impl_->Enqueue(std::move(r));
}

void Engine::Cancel(const std::string& request_id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->cancels.push_back(request_id);
  }
  impl_->cv.notify_one();
}

Engine::Status_ Engine::CurrentStatus() const {
  Status_ s;
  {
    std::lock_guard<std::mutex> lock(impl_->status_mu);
    s = impl_->status;
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  s.draining = impl_->draining;
  return s;
}

void Engine::BeginDrain() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->draining = true;
}

bool Engine::Idle() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->active_ids.empty();
}

void Engine::Impl::Admit(std::unique_ptr<ActiveRequest> request) {
  request->seq_id = next_seq_id++;
  SequenceInfo info;
  info.seq_id = request->seq_id;
  info.priority = request->is_score ? 0 : request->generate.priority;
  info.tokens = &request->token_ids;
  info.all_logits = request->is_score;
  info.retention = request->attention->retention;
  // Cached K/V depend on the rotation the keys got: the policy joins the prefix-cache key.
  if (!request->context->description.empty())
    info.retention.cache_salt += "|context=" + request->context->description;
  info.needs_state_slot = config.has_ssm();
  scheduler->Add(info);
  if (observer) {
    const std::string& d = request->attention->description;
    observer->OnAttentionBackend(d.empty() ? "default" : d.substr(0, d.find(':')));
    observer->OnContextPolicy(request->context->kind);
  }
  seq_of_request[request->request_id] = request->seq_id;
  requests[request->seq_id] = std::move(request);
}

void Engine::Impl::Release(int64_t seq_id) {
  auto it = requests.find(seq_id);
  if (it == requests.end()) return;
  scheduler->Remove(seq_id);
  executor->ReleaseState(seq_id);
  seq_of_request.erase(it->second->request_id);
  {
    std::lock_guard<std::mutex> lock(mu);
    active_ids.erase(it->second->request_id);
  }
  requests.erase(it);
}

void Engine::Impl::End(ActiveRequest& r, FinishReason reason, absl::Status error) {
  if (r.is_score) {
    r.score_done(error.ok() ? absl::CancelledError("request cancelled") : error);
  } else {
    r.sink->OnDelta(r.stream->Abort(reason, error));
  }
  if (observer) observer->OnFinished(reason, Seconds(Clock::now() - r.arrival));
  Release(r.seq_id);
}

void Engine::Impl::CommitScore(ActiveRequest& r, const ScheduledChunk& chunk,
                               const StepOutput& out, int64_t first_row) {
  const int64_t V = out.vocab_size;
  // Rows land at their positions, so a recompute after preemption simply overwrites them.
  r.score_logits.resize((chunk.start_pos + chunk.num_tokens) * V);
  std::copy(out.row(first_row), out.row(first_row + chunk.num_tokens), r.score_logits.begin() + chunk.start_pos * V);
  if (chunk.start_pos + chunk.num_tokens < static_cast<int32_t>(r.token_ids.size())) return;
  ScoreResult result;
  result.vocab_size = static_cast<int32_t>(V);
  const size_t T = r.token_ids.size();
  std::vector<float> logprobs(V);
  for (size_t i = 1; i < T; ++i) {
    LogSoftmaxRow({r.score_logits.data() + (i - 1) * V, static_cast<size_t>(V)}, logprobs);
    result.token_logprobs.push_back(logprobs[r.token_ids[i]]);
  }
  if (r.score.return_logits) result.logits = std::move(r.score_logits);
  if (observer) observer->OnFinished(FinishReason::kStop, Seconds(Clock::now() - r.arrival));
  r.score_done(std::move(result));
  Release(r.seq_id);
}

void Engine::Impl::Commit(const BatchPlan& plan, StepOutput& out) {
  const Clock::time_point now = Clock::now();
  for (size_t i = 0; i < plan.chunks.size(); ++i) {
    const ScheduledChunk& chunk = plan.chunks[i];
    auto it = requests.find(chunk.seq_id);
    if (it == requests.end()) continue;
    ActiveRequest& r = *it->second;
    if (chunk.first_chunk) {
      if (!r.scheduled) {  // its first step ever (not a recompute after preemption)
        std::lock_guard<std::mutex> status_lock(status_mu);
        queue_time_estimator.OnAdmitted(now);
      }
      r.scheduled = true;
      prompt_tokens_total += r.num_prompt_tokens;
      if (observer) {
        observer->OnScheduled(Seconds(now - r.arrival));
        observer->OnPromptTokens(r.num_prompt_tokens);
      }
    }
    if (r.is_score) {
      CommitScore(r, chunk, out, out.first_row[i]);
      continue;
    }
    if (!chunk.needs_sample) continue;
    int32_t token = 0;
    std::span<float> logits(out.logits.data() + out.first_row[i] * out.vocab_size,
                            static_cast<size_t>(out.vocab_size));
    GenerateDelta delta = r.stream->Advance(logits, token);
    r.token_ids.push_back(token);
    ++generation_tokens_total;
    if (observer) {
      if (!r.has_first_token) observer->OnFirstToken(Seconds(now - r.arrival));
      else observer->OnInterTokenLatency(Seconds(now - r.last_token_time));
      observer->OnGenerationTokens(1);
    }
    r.has_first_token = true;
    r.last_token_time = now;
    const FinishReason finish = delta.finish;
    r.sink->OnDelta(std::move(delta));
    if (finish != FinishReason::kNone) {
      if (observer) observer->OnFinished(finish, Seconds(now - r.arrival));
      Release(r.seq_id);
    }
  }
}

void Engine::Impl::PublishLoad() {
  const BlockPool& pool = scheduler->block_pool();
  const SchedulerStats& st = scheduler->stats();
  if (observer) {
    observer->OnQueueState(scheduler->num_running(), scheduler->num_waiting());
    observer->OnKvCacheUsage(pool.num_used(), pool.num_blocks());
    if (const StateSlotPool& slots = scheduler->state_slots(); slots.num_slots() > 0)
      observer->OnStateSlots(slots.num_slots() - slots.num_free(), slots.num_slots());
    for (int64_t i = reported.num_preemptions; i < st.num_preemptions; ++i) observer->OnPreemption();
    if (st.prefix_queried_tokens != reported.prefix_queried_tokens) {
      observer->OnPrefixCacheQuery(st.prefix_queried_tokens - reported.prefix_queried_tokens,
                                   st.prefix_hit_tokens - reported.prefix_hit_tokens);
    }
  }
  reported = st;
  if (expert_shards) moe_tracker.Publish(model->moe_load(), observer);
  // Throughput over the last ~10 s.
  const Clock::time_point now = Clock::now();
  if (throughput_samples.empty() ||
      now - std::get<0>(throughput_samples.back()) >= std::chrono::milliseconds(100)) {
    throughput_samples.emplace_back(now, generation_tokens_total, prompt_tokens_total);
  }
  while (throughput_samples.size() > 2 &&
         now - std::get<0>(throughput_samples[1]) > std::chrono::seconds(10)) {
    throughput_samples.pop_front();
  }
  Engine::Status_ s;
  s.num_running = scheduler->num_running();
  s.num_waiting = scheduler->num_waiting();
  s.num_preemptions_total = st.num_preemptions;
  s.kv_blocks_total = pool.num_blocks();
  s.kv_blocks_used = pool.num_used();
  s.kv_blocks_cached = pool.num_cached_free();
  s.block_size = scheduler->config().block_size;
  s.kv_tokens_stored = scheduler->num_tokens_in_blocks();
  s.kv_usage_ratio = pool.num_blocks() ? double(pool.num_used()) / pool.num_blocks() : 0.0;
  s.prefix_cache_queries_total = st.prefix_queried_tokens;
  s.prefix_cache_hits_total = st.prefix_hit_tokens;
  s.tokens_computed_total = tokens_computed_total;
  s.state_slots_total = scheduler->state_slots().num_slots();
  s.state_slots_used = s.state_slots_total - scheduler->state_slots().num_free();
  if (expert_shards) {
    const MoeLoad& load = model->moe_load();
    s.shard_tokens_total = load.shard_tokens;
    s.expert_tokens_total = load.expert_tokens;
    s.shard_imbalance = moe_tracker.Imbalance();
  }
  const auto& [t0, gen0, prompt0] = throughput_samples.front();
  const double span = Seconds(now - t0);
  if (span > 0) {
    s.generation_tokens_per_second = (generation_tokens_total - gen0) / span;
    s.prompt_tokens_per_second = (prompt_tokens_total - prompt0) / span;
  }
  std::lock_guard<std::mutex> lock(status_mu);
  status = s;
}

void Engine::Impl::ExpireDeadlines() {
  const Clock::time_point now = Clock::now();
  const auto max_queue = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(options.max_queue_time_s));
  std::vector<std::pair<int64_t, absl::Status>> expired;
  for (const auto& [seq_id, r] : requests) {
    if (now >= r->deadline) {
      expired.emplace_back(seq_id, absl::DeadlineExceededError(absl::StrCat(
          "request ", r->request_id, " exceeded its deadline after ",
          r->is_score ? 0 : r->stream->completion_tokens(), " generated tokens")));
    } else if (options.max_queue_time_s > 0 && !r->scheduled && now - r->arrival >= max_queue) {
      expired.emplace_back(seq_id, absl::DeadlineExceededError(absl::StrCat(
          "request ", r->request_id, " waited ", Seconds(now - r->arrival),
          " s in the queue without being scheduled (--max_queue_time=", options.max_queue_time_s, " s)")));
    }
  }
  for (auto& [seq_id, status] : expired) End(*requests.at(seq_id), FinishReason::kError, status);
}

void Engine::Impl::Loop() {
  for (;;) {
    std::deque<std::unique_ptr<ActiveRequest>> arrived;
    std::vector<std::string> cancelled;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] {
        return stopping || !incoming.empty() || !cancels.empty() || !requests.empty();
      });
      if (stopping) break;
      arrived.swap(incoming);
      cancelled.swap(cancels);
    }
    for (auto& r : arrived) Admit(std::move(r));
    for (const std::string& id : cancelled) {
      auto it = seq_of_request.find(id);
      if (it != seq_of_request.end()) End(*requests.at(it->second), FinishReason::kCancelled, absl::OkStatus());
    }
    ExpireDeadlines();
    BatchPlan plan = scheduler->Step();
    PublishLoad();
    if (plan.empty()) continue;
    StepOutput out = executor->Run(plan, [this](int64_t seq_id) {
      const ActiveRequest& r = *requests.at(seq_id);
      return SequenceView{&r.token_ids, r.attention.get(), r.context.get()};
    });
    scheduler->OnStepDone(plan);
    tokens_computed_total += plan.num_tokens();
    Commit(plan, out);
    PublishLoad();
  }
  // Shutdown: end everything still admitted.
  std::vector<int64_t> ids;
  for (const auto& [seq_id, r] : requests) ids.push_back(seq_id);
  for (int64_t seq_id : ids)
    End(*requests.at(seq_id), FinishReason::kCancelled, absl::UnavailableError("server is shutting down"));
  PublishLoad();
}

}  // namespace attnserve

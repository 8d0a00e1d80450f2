// RunSoak (see soak.h): slot threads on the synchronous gRPC API (a slot is one request at a
// time, so 64 slots are 64 threads), per-slot tallies merged at the end, RSS sampled by the
// calling thread, and the end-of-run checks.
#include "clients/bench/soak.h"

#include <atomic>
#include <cmath>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/bench/disconnect_proxy.h"
#include "clients/bench/soak_probes.h"
#include "clients/bench/workload.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace attnserve::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kMaxExamples = 10;
constexpr uint32_t kSlotsPerChannel = 8;  // slots sharing one HTTP/2 connection
constexpr char kGenerateMethod[] = "/attnserve.v1.Inference/Generate";

// The code's name as in the gRPC docs ("DEADLINE_EXCEEDED"); gRPC's codes equal absl's.
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// A channel with its own TCP connection (no subchannel shared with other channels).
std::shared_ptr<grpc::Channel> OwnChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

// What one request saw.
struct Outcome {
  grpc::Status status;
  uint32_t messages = 0;
  uint32_t finals = 0;       // messages with a finish_reason
  uint32_t after_final = 0;  // messages that came after one
  uint32_t tokens = 0;
  uint32_t usage_completion_tokens = 0;
  bool foreign_id = false;
};

// One slot's tallies (merged into the report at the end; no locking while running).
struct SlotTally {
  SoakKindCounts kinds[kNumSoakKinds];
  uint64_t output_tokens = 0;
  uint64_t unexpected_status = 0, missing_ending = 0, duplicate_ending = 0, token_mismatch = 0,
           foreign_request_id = 0;
  std::vector<uint8_t> endings;  // per request serial: how many endings were recorded
  std::vector<std::string> examples;
};

class Slot {
 public:
  Slot(int index, const SoakOptions& options, const SoakRequestFactory& factory,
       std::shared_ptr<grpc::Channel> channel, std::atomic<uint64_t>* finished,
       std::mutex* over_limit_mu)
      : index_(index), options_(options), factory_(factory), finished_(finished),
        over_limit_mu_(over_limit_mu),
        channel_(std::move(channel)),
        stub_(v1::Inference::NewStub(channel_)), generic_(channel_),
        rng_(options.seed ^ (0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(index + 1))) {}

  void Run(Clock::time_point end) {
    for (uint64_t serial = 0; Clock::now() < end; ++serial) {
      const SoakRequest request = factory_.Next(rng_, index_, serial);
      tally_.endings.push_back(0);
      Record(request, serial, Execute(request));
      finished_->fetch_add(1, std::memory_order_relaxed);
    }
  }
  SlotTally& tally() { return tally_; }

 private:
  Outcome Execute(const SoakRequest& request) {
    if (!request.raw_bytes.empty()) return SendRaw(request);
    if (request.shared_request != nullptr) {
      // The daemon buffers an over-limit message whole before refusing it: one at a time, so at
      // most one such 64 MiB buffer is live there however the slots overlap.
      std::lock_guard<std::mutex> one_at_a_time(*over_limit_mu_);
      return Stream(*stub_, request, nullptr);
    }
    if (request.disconnect_after_messages > 0) {
      std::string error;
      std::unique_ptr<DisconnectProxy> proxy = DisconnectProxy::Start(options_.addr, &error);
      if (proxy == nullptr) {
        Outcome failed;
        failed.status = grpc::Status(grpc::StatusCode::UNKNOWN, "soak: " + error);
        return failed;
      }
      std::shared_ptr<grpc::Channel> channel = OwnChannel(proxy->address());
      std::unique_ptr<v1::Inference::Stub> stub = v1::Inference::NewStub(channel);
      Outcome outcome = Stream(*stub, request, proxy.get());
      stub.reset();
      channel.reset();  // torn down after the reset, while the server may still be writing
      return outcome;
    }
    return Stream(*stub_, request, nullptr);
  }

  Outcome Stream(v1::Inference::Stub& stub, const SoakRequest& request, DisconnectProxy* proxy) {
    Outcome o;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         (request.deadline.count() > 0 ? request.deadline
                                                       : std::chrono::milliseconds(options_.request_timeout)));
    std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader =
        stub.Generate(&context, request.message());
    if (request.cancel_after_messages == 0) context.TryCancel();
    v1::GenerateResponse message;
    const std::string& id = request.message().request_id();
    while (reader->Read(&message)) {
      ++o.messages;
      if (o.finals > 0) ++o.after_final;
      o.tokens += static_cast<uint32_t>(message.token_ids_size());
      if (!message.request_id().empty() && message.request_id() != id) o.foreign_id = true;
      if (message.finish_reason() != v1::FINISH_REASON_UNSPECIFIED) {
        ++o.finals;
        o.usage_completion_tokens = message.usage().completion_tokens();
      }
      if (static_cast<int>(o.messages) == request.cancel_after_messages) context.TryCancel();
      if (proxy != nullptr && static_cast<int>(o.messages) == request.disconnect_after_messages) {
        proxy->Drop();
      }
    }
    o.status = reader->Finish();
    return o;
  }

  // Raw bytes on the Generate method: a unary generic call (the server answers it with its
  // status only, since it cannot parse the request).
  Outcome SendRaw(const SoakRequest& request) {
    Outcome o;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.request_timeout);
    const grpc::Slice slice(request.raw_bytes);
    grpc::ByteBuffer payload(&slice, 1);
    grpc::ByteBuffer response;
    std::promise<grpc::Status> done;
    generic_.UnaryCall(&context, kGenerateMethod, grpc::StubOptions(), &payload, &response,
                       [&done](grpc::Status status) { done.set_value(std::move(status)); });
    o.status = done.get_future().get();
    return o;
  }

  void Example(const SoakRequest& request, const Outcome& o, const std::string& what) {
    if (tally_.examples.size() >= kMaxExamples) return;
    tally_.examples.push_back(absl::StrCat(SoakKindName(request.kind), "/", request.variant, " ",
                                           request.message().request_id(), ": ", what, " (status ",
                                           CodeName(o.status.error_code()), ": ",
                                           o.status.error_message(), ")"));
  }

  void Record(const SoakRequest& request, uint64_t serial, const Outcome& o) {
    ++tally_.endings[serial];
    SoakKindCounts& k = tally_.kinds[static_cast<int>(request.kind)];
    ++k.sent;
    ++k.by_code[CodeName(o.status.error_code())];
    ++k.by_variant[request.variant];
    if (o.messages > 0 || o.status.ok()) ++k.accepted;
    tally_.output_tokens += o.tokens;
    if (!request.Expects(o.status.error_code())) {
      ++tally_.unexpected_status;
      Example(request, o, "status not expected for this kind");
    }
    if (o.finals > 1 || o.after_final > 0) {
      ++tally_.duplicate_ending;
      Example(request, o, absl::StrCat(o.finals, " final messages, ", o.after_final, " after the first"));
    }
    if (o.status.ok() && request.raw_bytes.empty() && o.finals == 0) {
      ++tally_.missing_ending;
      Example(request, o, "OK status without a final message");
    }
    if (o.status.ok() && request.ends_ok_with_all_tokens() && o.finals == 1 &&
        (o.tokens != request.message().max_tokens() || o.usage_completion_tokens != o.tokens)) {
      ++tally_.token_mismatch;
      Example(request, o, absl::StrCat(o.tokens, " tokens received, usage says ",
                                       o.usage_completion_tokens, ", max_tokens ",
                                       request.message().max_tokens()));
    }
    if (o.foreign_id) {
      ++tally_.foreign_request_id;
      Example(request, o, "a message carried another request's id");
    }
  }

  const int index_;
  const SoakOptions& options_;
  const SoakRequestFactory& factory_;
  std::atomic<uint64_t>* finished_;  // requests ended, over all slots (progress lines)
  std::mutex* over_limit_mu_;        // held while an over-receive-limit message is in flight
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Inference::Stub> stub_;
  grpc::GenericStub generic_;
  std::mt19937_64 rng_;
  SlotTally tally_;
};

void Merge(SlotTally& slot, SoakReport* report) {
  for (int k = 0; k < kNumSoakKinds; ++k) {
    SoakKindCounts& into = report->kinds[k];
    into.sent += slot.kinds[k].sent;
    into.accepted += slot.kinds[k].accepted;
    for (const auto& [code, n] : slot.kinds[k].by_code) into.by_code[code] += n;
    for (const auto& [variant, n] : slot.kinds[k].by_variant) into.by_variant[variant] += n;
    report->requests += slot.kinds[k].sent;
    report->accepted += slot.kinds[k].accepted;
  }
  report->output_tokens += slot.output_tokens;
  report->unexpected_status += slot.unexpected_status;
  report->duplicate_ending += slot.duplicate_ending;
  report->token_mismatch += slot.token_mismatch;
  report->foreign_request_id += slot.foreign_request_id;
  report->missing_ending += slot.missing_ending;
  for (uint8_t endings : slot.endings) {
    if (endings == 0) ++report->missing_ending;
    if (endings > 1) ++report->duplicate_ending;
  }
  for (std::string& e : slot.examples) {
    if (report->examples.size() < kMaxExamples) report->examples.push_back(std::move(e));
  }
}

std::string HealthOf(const std::shared_ptr<grpc::Channel>& channel) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service("attnserve.v1.Inference");
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) return std::string(CodeName(status.error_code())) + ": " + status.error_message();
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

bool Idle(const v1::ServerStatus& s) {
  return s.num_requests_running() == 0 && s.num_requests_waiting() == 0 &&
         s.kv_blocks_free() == s.kv_blocks_total() && s.recurrent_state_slots_used() == 0;
}

// Polls GetServerStatus until the daemon is idle or `timeout` passes; *last is the last answer.
// Gives up early once the daemon has not answered for ~1 s (it is gone).
bool WaitForIdle(v1::Inference::Stub& stub, std::chrono::seconds timeout, v1::ServerStatus* last) {
  const auto end = Clock::now() + timeout;
  int unanswered = 0;
  do {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    const grpc::Status status = stub.GetServerStatus(&context, v1::GetServerStatusRequest(), last);
    if (status.ok() && Idle(*last)) return true;
    unanswered = status.ok() ? 0 : unanswered + 1;
    if (unanswered >= 10) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() < end);
  return false;
}

// The counters the server-side check compares, from one /metrics scrape.
struct ServerCounters {
  double admitted = 0;        // attnserve_requests_by_attention_total (every admission)
  double finished = 0;        // attnserve_requests_total (every finish reason)
  double generate_calls = 0;  // attnserve_api_requests_total{method="Generate"} (every code)
  double rejected = 0;        // attnserve_requests_rejected_total
};

std::optional<ServerCounters> ScrapeCounters(const std::string& metrics_addr) {
  const std::optional<std::string> text = HttpGetBody(metrics_addr, "/metrics");
  if (!text) return std::nullopt;
  ServerCounters c;
  c.admitted = SumMetric(*text, "attnserve_requests_by_attention_total").value_or(0);
  c.finished = SumMetric(*text, "attnserve_requests_total").value_or(0);
  c.generate_calls =
      SumMetric(*text, "attnserve_api_requests_total", R"(protocol="grpc",method="Generate")")
          .value_or(0);
  c.rejected = SumMetric(*text, "attnserve_requests_rejected_total").value_or(0);
  return c;
}

// Fills rss_warmup_bytes / rss_max_deviation and the rss check.
void CheckRss(SoakReport* report) {
  const double warmup_s = report->options.warmup_fraction *
                          static_cast<double>(report->options.duration.count());
  size_t ref = 0;
  while (ref < report->rss.size() && report->rss[ref].t_s < warmup_s) ++ref;
  if (ref + 1 >= report->rss.size()) {
    report->checks["rss_within_tolerance"] = false;  // too few samples to judge
    report->examples.push_back("rss: fewer than two samples after the warm-up");
    return;
  }
  report->rss_warmup_bytes = report->rss[ref].bytes;
  for (size_t i = ref + 1; i < report->rss.size(); ++i) {
    const double deviation =
        std::abs(static_cast<double>(report->rss[i].bytes) / report->rss_warmup_bytes - 1.0);
    report->rss_max_deviation = std::max(report->rss_max_deviation, deviation);
  }
  report->checks["rss_within_tolerance"] = report->rss_max_deviation <= report->options.rss_tolerance;
}

}  // namespace

bool SoakReport::passed() const {
  for (const auto& [name, ok] : checks) {
    if (!ok) return false;
  }
  return !checks.empty();
}

bool RunSoak(const SoakOptions& options, SoakReport* report, std::string* error) {
  report->options = options;
  const SoakMix& m = options.mix;
  const double faults = m.cancel + m.disconnect + m.short_deadline + m.oversized + m.malformed;
  if (m.cancel < 0 || m.disconnect < 0 || m.short_deadline < 0 || m.oversized < 0 ||
      m.malformed < 0 || faults > 1.0 + 1e-9) {
    *error = "the fault fractions must be >= 0 and sum to at most 1";
    return false;
  }
  if (options.streams == 0) {
    *error = "--soak_streams must be >= 1";
    return false;
  }
  const std::shared_ptr<grpc::Channel> control = OwnChannel(options.addr);
  const std::unique_ptr<v1::Inference::Stub> stub = v1::Inference::NewStub(control);
  v1::ModelInfo info;
  {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const grpc::Status status = stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    if (!status.ok()) {
      *error = absl::StrCat("GetModelInfo on ", options.addr, ": ", CodeName(status.error_code()),
                            ": ", status.error_message());
      return false;
    }
  }
  WorkloadOptions ids;
  SetDefaultTokenIdRange(info.vocab_size(), &ids);
  SoakModelLimits limits;
  limits.vocab_size = info.vocab_size();
  limits.max_context = info.max_context();
  limits.token_id_low = ids.token_id_low;
  limits.token_id_high = ids.token_id_high;
  limits.max_message_bytes = options.max_message_bytes;
  const SoakRequestFactory factory(m, limits);

  report->rss_pid = options.daemon_pid > 0 ? options.daemon_pid
                                           : ListeningPid(PortOf(options.addr)).value_or(0);
  std::optional<ServerCounters> before;
  if (!options.metrics_addr.empty()) {
    before = ScrapeCounters(options.metrics_addr);
    if (!before) {
      *error = "cannot read /metrics on " + options.metrics_addr;
      return false;
    }
  }

  std::vector<std::shared_ptr<grpc::Channel>> channels;
  std::vector<std::unique_ptr<Slot>> slots;
  std::atomic<uint64_t> finished{0};
  std::mutex over_limit_mu;
  for (uint32_t i = 0; i < options.streams; ++i) {
    if (i % kSlotsPerChannel == 0) channels.push_back(OwnChannel(options.addr));
    slots.push_back(
        std::make_unique<Slot>(static_cast<int>(i), options, factory, channels.back(), &finished,
                               &over_limit_mu));
  }
  const Clock::time_point start = Clock::now();
  const Clock::time_point end = start + options.duration;
  std::vector<std::thread> threads;
  for (auto& slot : slots) threads.emplace_back([&slot, end] { slot->Run(end); });

  auto sample_rss = [&] {
    if (report->rss_pid <= 0) return;
    if (const std::optional<uint64_t> bytes = ResidentBytes(report->rss_pid)) {
      report->rss.push_back({std::chrono::duration<double>(Clock::now() - start).count(), *bytes});
    }
  };
  Clock::time_point next_progress = start + std::chrono::seconds(60);
  for (Clock::time_point next = start; next < end; next += options.rss_interval) {
    std::this_thread::sleep_until(next);
    sample_rss();
    if (options.progress && Clock::now() >= next_progress) {
      next_progress += std::chrono::seconds(60);
      options.progress(absl::StrCat(
          static_cast<int>(std::chrono::duration<double>(Clock::now() - start).count()), " s: ",
          finished.load(), " requests ended",
          report->rss.empty() ? std::string()
                              : absl::StrCat(", daemon RSS ", report->rss.back().bytes >> 20, " MiB")));
    }
  }
  for (std::thread& t : threads) t.join();
  report->elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& slot : slots) Merge(slot->tally(), report);

  v1::ServerStatus after;
  report->became_idle = WaitForIdle(*stub, options.idle_timeout, &after);
  sample_rss();  // the end of the run, once idle
  report->health = HealthOf(control);
  report->server_status = {{"num_requests_running", after.num_requests_running()},
                            {"num_requests_waiting", after.num_requests_waiting()},
                            {"kv_blocks_total", after.kv_blocks_total()},
                            {"kv_blocks_free", after.kv_blocks_free()},
                            {"kv_blocks_cached", after.kv_blocks_cached()},
                            {"kv_tokens_stored", after.kv_tokens_stored()},
                            {"recurrent_state_slots_total", after.recurrent_state_slots_total()},
                            {"recurrent_state_slots_used", after.recurrent_state_slots_used()},
                            {"num_preemptions_total", after.num_preemptions_total()},
                            {"tokens_computed_total", after.tokens_computed_total()},
                            {"draining", after.draining()}};

  std::map<std::string, bool>& checks = report->checks;
  checks["no_unexpected_status"] = report->unexpected_status == 0;
  checks["every_request_ended_once"] = report->missing_ending == 0 && report->duplicate_ending == 0;
  checks["ok_streams_complete"] = report->token_mismatch == 0 && report->foreign_request_id == 0;
  bool exercised = report->kinds[static_cast<int>(SoakKind::kNormal)].by_code["OK"] > 0;
  const double fractions[kNumSoakKinds] = {1.0 - faults, m.cancel, m.disconnect, m.short_deadline,
                                           m.oversized, m.malformed};
  for (int k = 0; k < kNumSoakKinds; ++k) {
    if (fractions[k] > 1e-9 && report->kinds[k].sent == 0) exercised = false;
  }
  checks["every_kind_exercised"] = exercised;
  checks["idle_after"] = report->became_idle;
  checks["kv_blocks_all_free"] = after.kv_blocks_free() == after.kv_blocks_total();
  checks["state_slots_all_free"] = after.recurrent_state_slots_used() == 0;
  checks["health_serving"] = report->health == "SERVING";
  if (report->rss_pid > 0) {
    checks["daemon_alive"] = ResidentBytes(report->rss_pid).has_value();
    CheckRss(report);
  }
  if (before) {
    const std::optional<ServerCounters> now = ScrapeCounters(options.metrics_addr);
    checks["metrics_readable"] = now.has_value();
    if (now) {
      const double admitted = now->admitted - before->admitted;
      const double finished = now->finished - before->finished;
      const double calls = now->generate_calls - before->generate_calls;
      report->server_metrics = {{"admitted", admitted},
                                {"finished", finished},
                                {"generate_calls", calls},
                                {"rejected", now->rejected - before->rejected},
                                {"client_requests", report->requests}};
      checks["engine_finished_what_it_admitted"] = admitted == finished && admitted > 0;
      checks["grpc_calls_not_more_than_sent"] = calls <= static_cast<double>(report->requests);
    }
  }
  return true;
}

}  // namespace attnserve::bench

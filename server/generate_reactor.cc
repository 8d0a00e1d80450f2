// GenerateReactor and its stream state GenerateStream (see generate_reactor.h for the flow).
#include "server/generate_reactor.h"

#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "server/metrics.h"
#include "server/proto_convert.h"

namespace attnserve::server {
namespace {

// Appends `next` to `into` (both deltas of the same request; `next` is the later one).
void MergeDelta(GenerateDelta& into, GenerateDelta&& next) {
  into.token_ids.insert(into.token_ids.end(), next.token_ids.begin(), next.token_ids.end());
  into.text += next.text;
  for (TokenLogprob& lp : next.logprobs) into.logprobs.push_back(std::move(lp));
  if (next.finish != FinishReason::kNone) {
    into.finish = next.finish;
    into.stop_reason = std::move(next.stop_reason);
    into.prompt_tokens = next.prompt_tokens;
    into.completion_tokens = next.completion_tokens;
    into.error = std::move(next.error);
  }
}

grpc::Status FinalStatus(const GenerateDelta& last) {
  if (!last.error.ok()) return ToGrpcStatus(last.error);
  if (last.finish == FinishReason::kError) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "generation failed");
  }
  return grpc::Status::OK;
}

}  // namespace

// Shared between the reactor (gRPC threads) and the engine (engine thread). All fields under mu_,
// except current_, which only the thread that set write_in_flight_ touches until OnWriteDone.
class GenerateStream : public GenerateSink {
 public:
  GenerateStream(GenerateReactor* reactor, const Tokenizer& tokenizer, std::string request_id)
      : reactor_(reactor), tokenizer_(tokenizer), request_id_(std::move(request_id)) {}

  const std::string& request_id() const { return request_id_; }

  // Engine thread. Queues the delta; starts a write when none is in flight. Never blocks beyond
  // the short mutex.
  void OnDelta(GenerateDelta delta) override {
    std::unique_lock lock(mu_);
    if (engine_done_) return;
    if (delta.finish != FinishReason::kNone) {
      engine_done_ = true;
      if (!final_status_) final_status_ = FinalStatus(delta);
      // An error ends the call with a non-OK status; keep any tokens it still carries.
      if (delta.finish == FinishReason::kError && delta.token_ids.empty()) {
        Pump(std::move(lock));
        return;
      }
    }
    if (finish_sent_ || reactor_ == nullptr || cancelled_) return;
    pending_.push_back(std::move(delta));
    Pump(std::move(lock));
  }

  // The request never reached the engine: end the call with `status`.
  void FinishWithoutEngine(const grpc::Status& status) {
    std::unique_lock lock(mu_);
    engine_done_ = true;
    final_status_ = status;
    Pump(std::move(lock));
  }

  // Client cancelled / disconnected / deadline passed. Returns true when the engine still runs
  // the request (the caller then cancels it there).
  bool Cancel() {
    std::unique_lock lock(mu_);
    cancelled_ = true;
    pending_.clear();
    if (!final_status_) final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "call cancelled");
    const bool engine_running = !engine_done_;
    Pump(std::move(lock));
    return engine_running;
  }

  // gRPC thread, after each write. Returns true when the stream broke while the engine still runs
  // the request.
  bool OnWriteDone(bool ok) {
    std::unique_lock lock(mu_);
    write_in_flight_ = false;
    bool cancel_engine = false;
    if (!ok) {
      cancelled_ = true;
      pending_.clear();
      if (!final_status_) final_status_ = grpc::Status(grpc::StatusCode::CANCELLED, "write failed");
      cancel_engine = !engine_done_;
    }
    Pump(std::move(lock));
    return cancel_engine;
  }

  // OnDone: the reactor is about to be deleted; later deltas are dropped.
  void Detach() {
    std::lock_guard lock(mu_);
    reactor_ = nullptr;
    pending_.clear();
  }

 private:
  // Starts the next write (all pending deltas merged into one message) or, once everything is
  // written and the final status is known, Finish. Called with mu_ held; releases it before
  // calling into gRPC. The reactor stays alive meanwhile: OnDone cannot run before Finish, and
  // Finish is only called here, once (finish_sent_), with no write in flight.
  void Pump(std::unique_lock<std::mutex> lock) {
    if (reactor_ == nullptr || finish_sent_ || write_in_flight_) return;
    GenerateReactor* reactor = reactor_;
    if (!pending_.empty()) {
      GenerateDelta delta = std::move(pending_.front());
      pending_.pop_front();
      while (!pending_.empty()) {
        MergeDelta(delta, std::move(pending_.front()));
        pending_.pop_front();
      }
      write_in_flight_ = true;
      lock.unlock();
      ToProto(delta, request_id_, tokenizer_, &current_);
      reactor->StartWrite(&current_);
      return;
    }
    if (final_status_) {
      finish_sent_ = true;
      const grpc::Status status = *final_status_;
      lock.unlock();
      reactor->Finish(status);
    }
  }

  std::mutex mu_;
  GenerateReactor* reactor_;            // null after OnDone
  const Tokenizer& tokenizer_;
  const std::string request_id_;
  std::deque<GenerateDelta> pending_;   // received, not yet written
  std::optional<grpc::Status> final_status_;
  bool write_in_flight_ = false;
  bool finish_sent_ = false;
  bool engine_done_ = false;            // the final delta arrived (or the engine never had it)
  bool cancelled_ = false;              // the client side is gone; drop output
  v1::GenerateResponse current_;        // the message being written
};

GenerateReactor::GenerateReactor(Engine& engine, PrometheusRequestObserver* metrics,
                                 const ChatPrompt* chat, grpc::CallbackServerContext* context,
                                 const v1::GenerateRequest& request, std::string request_id,
                                 OpenCalls::Guard open_call, absl::StatusOr<Admission> admission,
                                 std::string key_name)
    : engine_(engine),
      metrics_(metrics),
      stream_(std::make_shared<GenerateStream>(this, engine.tokenizer(), request_id)),
      open_call_(open_call),
      context_(context),
      key_name_(std::move(key_name)) {
  if (!admission.ok()) {
    Reject(admission.status());
    return;
  }
  lease_ = std::move(admission->lease);
  absl::StatusOr<GenerateSpec> spec = ToGenerateSpec(request, engine.tokenizer(), chat);
  if (!spec.ok()) {
    Reject(spec.status());
    return;
  }
  if (absl::Status capped = ApplyCaps(admission->caller, spec->prompt_token_ids.size(),
                                      request.has_max_tokens(), &spec->max_tokens);
      !capped.ok()) {
    Reject(capped);
    return;
  }
  spec->request_id = std::move(request_id);
  spec->deadline = ToEngineDeadline(context->deadline());
  // SubmitGenerate validates (INVALID_ARGUMENT naming the field) before queueing.
  const absl::Status status = engine.SubmitGenerate(*std::move(spec), stream_);
  if (!status.ok()) {
    Reject(status);
    return;
  }
  if (metrics_ != nullptr) metrics_->OnKeyRequest(key_name_);
}

GenerateReactor::~GenerateReactor() = default;

void GenerateReactor::Reject(const absl::Status& status) {
  if (metrics_ != nullptr) metrics_->OnRejected(status, key_name_);
  AddRefusalTrailers(status, context_);
  stream_->FinishWithoutEngine(ToGrpcStatus(status));
}

void GenerateReactor::OnWriteDone(bool ok) {
  if (stream_->OnWriteDone(ok)) engine_.Cancel(stream_->request_id());
}

void GenerateReactor::OnCancel() {
  if (stream_->Cancel()) engine_.Cancel(stream_->request_id());
}

void GenerateReactor::OnDone() {
  stream_->Detach();
  delete this;
}

}  // namespace attnserve::server

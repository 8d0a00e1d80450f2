// GenerationCall (see openai_generation.h).
#include "server/http/openai_generation.h"

#include <chrono>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/http/openai_error.h"
#include "server/http/openai_response.h"
#include "server/proto_convert.h"

namespace attnserve::server::http {
namespace {

int64_t UnixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

class GenerationCall : public std::enable_shared_from_this<GenerationCall> {
 public:
  GenerationCall(Engine& engine, OpenAiRequest request, std::string request_id,
                 std::shared_ptr<HttpExchange> exchange, std::function<void(int)> on_done)
      : engine_(engine),
        request_(std::move(request)),
        exchange_(std::move(exchange)),
        on_done_(std::move(on_done)) {
    header_.id = std::move(request_id);
    header_.created = UnixNow();
    header_.model = request_.model;
    header_.endpoint = request_.endpoint;
    const size_t count = request_.prompts.size() * request_.n;
    choices_.resize(count);
    offsets_.assign(count, 0);
    started_.assign(count, false);
    for (size_t i = 0; i < count; ++i) {
      choices_[i].index = static_cast<uint32_t>(i);
      if (request_.echo) {
        const std::string& prompt = request_.prompt_texts[i / request_.n];
        choices_[i].text = prompt;
        offsets_[i] = static_cast<int64_t>(prompt.size());
      }
    }
    prompt_tokens_.assign(request_.prompts.size(), 0);
  }

  void Run();
  void OnDelta(size_t choice, GenerateDelta delta);

 private:
  std::string EngineId(size_t choice) const { return absl::StrCat(header_.id, "-", choice); }
  void CancelRunning(size_t submitted);
  // Called with mu_ held.
  void StreamDelta(size_t choice, const GenerateDelta& delta);
  void FinishLocked(std::unique_lock<std::mutex>& lock);
  void FailLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status);
  UsageCounts Usage() const;

  Engine& engine_;
  const OpenAiRequest request_;
  const std::shared_ptr<HttpExchange> exchange_;
  std::function<void(int)> on_done_;
  ResponseHeader header_;

  std::mutex mu_;
  std::vector<ChoiceOutput> choices_;  // accumulated output (whole responses) / state (streams)
  std::vector<int64_t> offsets_;       // completions logprobs text_offset per choice
  std::vector<bool> started_;          // chat streams: role chunk sent
  std::vector<uint32_t> prompt_tokens_;
  uint64_t completion_tokens_ = 0;
  size_t finished_ = 0;
  bool answered_ = false;              // the final answer (or error) went out
  bool stream_started_ = false;        // the 200 event-stream head is (being) sent
  bool stream_finished_ = false;       // every choice finished: its events and End are queued
};

class ChoiceSink : public GenerateSink {
 public:
  ChoiceSink(std::shared_ptr<GenerationCall> call, size_t choice) : call_(std::move(call)), choice_(choice) {}
  void OnDelta(GenerateDelta delta) override { call_->OnDelta(choice_, std::move(delta)); }

 private:
  const std::shared_ptr<GenerationCall> call_;
  const size_t choice_;
};

void GenerationCall::Run() {
  const size_t count = choices_.size();
  for (size_t i = 0; i < count; ++i) {
    v1::GenerateRequest r = request_.prompts[i / request_.n];
    if (request_.n > 1 && r.sampling().has_seed()) {
      r.mutable_sampling()->set_seed(r.sampling().seed() + i % request_.n);  // distinct, reproducible
    }
    absl::StatusOr<GenerateSpec> spec = ToGenerateSpec(r, engine_.tokenizer());
    absl::Status status = spec.status();
    if (status.ok()) {
      spec->request_id = EngineId(i);
      status = engine_.SubmitGenerate(*std::move(spec), std::make_shared<ChoiceSink>(shared_from_this(), i));
    }
    if (!status.ok()) {
      CancelRunning(i);
      std::unique_lock lock(mu_);
      FailLocked(lock, status);
      return;
    }
  }
  if (request_.stream) {
    {
      std::lock_guard lock(mu_);
      // A choice that failed already answered with an error; but a short request may have
      // finished entirely before this point: its events are queued and the head must still go.
      if (answered_ && !stream_finished_) return;
      stream_started_ = true;
    }
    exchange_->StartStream(200);  // events queued before this go out right after the head
  }
  exchange_->OnClientGone([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      {
        std::unique_lock lock(self->mu_);
        if (self->answered_) return;
        self->answered_ = true;
      }
      self->CancelRunning(self->choices_.size());
      if (self->on_done_) self->on_done_(499);
    }
  });
}

void GenerationCall::CancelRunning(size_t submitted) {
  for (size_t i = 0; i < submitted; ++i) engine_.Cancel(EngineId(i));
}

UsageCounts GenerationCall::Usage() const {
  UsageCounts usage;
  for (uint32_t n : prompt_tokens_) usage.prompt_tokens += n;
  usage.completion_tokens = completion_tokens_;
  return usage;
}

void GenerationCall::OnDelta(size_t choice, GenerateDelta delta) {
  std::unique_lock lock(mu_);
  if (answered_) return;
  if (delta.finish == FinishReason::kError || !delta.error.ok()) {
    CancelRunning(choices_.size());
    FailLocked(lock, delta.error.ok() ? absl::InternalError("generation failed") : delta.error);
    return;
  }
  ChoiceOutput& out = choices_[choice];
  if (request_.stream) {
    StreamDelta(choice, delta);
  } else {
    out.text += delta.text;
    for (TokenLogprob& lp : delta.logprobs) out.logprobs.push_back(std::move(lp));
  }
  if (delta.finish == FinishReason::kNone) return;
  out.finish = delta.finish;
  out.stop_reason = delta.stop_reason;
  completion_tokens_ += delta.completion_tokens;
  if (choice % request_.n == 0) prompt_tokens_[choice / request_.n] = delta.prompt_tokens;
  if (++finished_ == choices_.size()) FinishLocked(lock);
}

void GenerationCall::StreamDelta(size_t choice, const GenerateDelta& delta) {
  // Chat streams open each choice with the assistant role; completions send only text.
  const bool first = !started_[choice];
  const bool must_send = first && (request_.endpoint == Endpoint::kChatCompletions || request_.echo);
  if (!must_send && delta.text.empty() && delta.finish == FinishReason::kNone &&
      (!request_.logprobs || delta.logprobs.empty())) {
    return;  // nothing a client could see (an incomplete UTF-8 character)
  }
  ChoiceOutput piece;
  piece.index = static_cast<uint32_t>(choice);
  piece.text = delta.text;
  if (first && request_.echo) piece.text = request_.prompt_texts[choice / request_.n] + piece.text;
  piece.logprobs = delta.logprobs;
  piece.finish = delta.finish;
  piece.stop_reason = delta.stop_reason;
  started_[choice] = true;
  Json usage;
  if (request_.continuous_usage) {
    UsageCounts u;
    u.prompt_tokens = delta.prompt_tokens;
    u.completion_tokens = delta.completion_tokens;
    usage = UsageJson(u);
  } else if (request_.include_usage) {
    usage = nullptr;  // OpenAI: "usage": null on every chunk but the last
  }
  Json chunk = ChunkResponse(header_, piece, first, request_.logprobs, engine_.tokenizer(),
                             &offsets_[choice], usage);
  if (request_.include_usage && !request_.continuous_usage) chunk["usage"] = nullptr;
  exchange_->Send(SseEvent(chunk));
}

void GenerationCall::FinishLocked(std::unique_lock<std::mutex>& lock) {
  answered_ = true;
  if (request_.stream) {
    stream_finished_ = true;
    if (request_.include_usage) exchange_->Send(SseEvent(UsageChunk(header_, Usage())));
    exchange_->Send("data: [DONE]\n\n");
    exchange_->End();
  } else {
    HttpResponse response;
    response.body = DumpJson(WholeResponse(header_, choices_, request_.logprobs, Usage(), engine_.tokenizer()));
    exchange_->Respond(std::move(response));
  }
  auto on_done = std::move(on_done_);
  lock.unlock();
  if (on_done) on_done(200);
}

void GenerationCall::FailLocked(std::unique_lock<std::mutex>& lock, const absl::Status& status) {
  if (answered_) return;
  answered_ = true;
  if (stream_started_) {
    // Headers (200) are out: the error travels as an event, as vLLM sends it.
    exchange_->Send("data: " + ErrorBody(status) + "\n\n");
    exchange_->Send("data: [DONE]\n\n");
    exchange_->End();
  } else {
    exchange_->Respond(ErrorResponse(status));
  }
  auto on_done = std::move(on_done_);
  lock.unlock();
  if (on_done) on_done(HttpStatusFor(status.code()));
}

}  // namespace

void StartGenerationCall(Engine& engine, OpenAiRequest request, std::string request_id,
                         std::shared_ptr<HttpExchange> exchange,
                         std::function<void(int http_status)> on_done) {
  auto call = std::make_shared<GenerationCall>(engine, std::move(request), std::move(request_id),
                                               std::move(exchange), std::move(on_done));
  call->Run();
}

}  // namespace attnserve::server::http

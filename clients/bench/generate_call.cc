// GenerateCall (see generate_call.h).
#include "clients/bench/generate_call.h"

namespace attnserve::bench {

void GenerateCall::Start(v1::Inference::Stub& stub, const v1::GenerateRequest& request,
                         std::optional<std::chrono::milliseconds> timeout, RequestRecord* record,
                         std::function<void()> on_done) {
  auto* call = new GenerateCall(record, std::move(on_done));
  if (timeout.has_value()) call->context_.set_deadline(std::chrono::system_clock::now() + *timeout);
  stub.async()->Generate(&call->context_, &request, call);
  call->StartRead(&call->response_);
  record->sent = Clock::now();
  call->StartCall();
}

void GenerateCall::OnReadDone(bool ok) {
  if (!ok) return;  // stream ended; OnDone follows
  record_->OnMessage(Clock::now(), response_);
  StartRead(&response_);
}

void GenerateCall::OnDone(const grpc::Status& status) {
  record_->done = Clock::now();
  record_->status = status;
  record_->completed = true;
  std::function<void()> on_done = std::move(on_done_);
  delete this;
  on_done();
}

}  // namespace attnserve::bench

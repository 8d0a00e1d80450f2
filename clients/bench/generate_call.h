// GenerateCall: one in-flight Generate stream on the gRPC callback API (ClientReadReactor), so
// dozens of concurrent streams cost no client threads. It timestamps each message into a
// RequestRecord as it arrives and runs `on_done` once the status is in. Self-deleting.
//
//   Start(): sent = now, StartRead, StartCall
//   OnReadDone(ok) ── record.OnMessage(now, msg), StartRead ──┐ (loop until !ok)
//   OnDone(status) ── record.done/status, on_done(), delete this
#pragma once

#include <chrono>
#include <functional>
#include <optional>

#include "attnserve/v1/inference.grpc.pb.h"
#include "clients/bench/request_record.h"
#include "grpcpp/grpcpp.h"

namespace attnserve::bench {

class GenerateCall : public grpc::ClientReadReactor<v1::GenerateResponse> {
 public:
  // `request` and `record` must outlive the call (until on_done has run). `on_done` runs on a gRPC
  // thread and must not block.
  static void Start(v1::Inference::Stub& stub, const v1::GenerateRequest& request,
                    std::optional<std::chrono::milliseconds> timeout, RequestRecord* record,
                    std::function<void()> on_done);

  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  GenerateCall(RequestRecord* record, std::function<void()> on_done)
      : record_(record), on_done_(std::move(on_done)) {}

  grpc::ClientContext context_;
  v1::GenerateResponse response_;
  RequestRecord* record_;
  std::function<void()> on_done_;
};

}  // namespace attnserve::bench

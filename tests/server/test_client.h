// Client-side helpers for the end-to-end tests: channels, a collected Generate stream, health and
// reflection queries, and a minimal HTTP GET for /metrics with a Prometheus text parser.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attnserve/v1/inference.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace attnserve::testing {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN", "UNKNOWN", or the RPC error ("UNAVAILABLE: ...").
std::string HealthStatus(const std::shared_ptr<grpc::Channel>& channel, const std::string& service);

// Service names the server lists over grpc.reflection.v1alpha (empty on error).
std::vector<std::string> ReflectionServices(const std::shared_ptr<grpc::Channel>& channel);

struct GenerateResult {
  std::vector<v1::GenerateResponse> responses;
  grpc::Status status;

  std::vector<int32_t> AllTokenIds() const;
  std::string AllText() const;
  const v1::GenerateResponse& Last() const { return responses.back(); }
};

// Runs one Generate call to completion (optionally with a client deadline).
GenerateResult Generate(v1::Inference::Stub& stub, const v1::GenerateRequest& request,
                        std::optional<std::chrono::milliseconds> timeout = std::nullopt);

// GetServerStatus with a 5 s deadline; `*out` is filled when the status is OK.
grpc::Status GetServerStatus(v1::Inference::Stub& stub, v1::ServerStatus* out);

// Polls GetServerStatus (every 20 ms, up to `timeout`) until `predicate` holds. Returns whether it
// did; *last is the last status read.
bool WaitForServerStatus(v1::Inference::Stub& stub,
                         const std::function<bool(const v1::ServerStatus&)>& predicate,
                         std::chrono::milliseconds timeout, v1::ServerStatus* last);

// A Generate stream started now and read later (the call is sent before this returns).
struct OpenStream {
  grpc::ClientContext context;
  std::unique_ptr<grpc::ClientReader<v1::GenerateResponse>> reader;

  OpenStream(v1::Inference::Stub& stub, const v1::GenerateRequest& request);
  // Reads the rest of the stream (all of it when nothing was read yet) and its final status.
  GenerateResult Finish();
};

// The body of GET http://127.0.0.1:<port><path> ("" when the connection fails).
std::string HttpGet(int port, const std::string& path);
// Sends `bytes` to 127.0.0.1:`port` and returns everything the server answers until it closes
// (30 s send / receive timeouts); "" when the connection fails.
std::string SendRawHttp(int port, const std::string& bytes);

// Sum of all samples of `name` in Prometheus text format, over every label set whose labels contain
// `label_filter` (e.g. R"(finish_reason="length")"; "" = all). nullopt when no sample has the name.
std::optional<double> MetricValue(const std::string& exposition, const std::string& name,
                                  const std::string& label_filter = "");

}  // namespace attnserve::testing

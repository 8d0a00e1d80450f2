// Client-side helpers for the end-to-end tests (see test_client.h).
#include "tests/server/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <sstream>
#include <thread>

#include "grpc/health/v1/health.grpc.pb.h"
#include "reflection_subset.grpc.pb.h"

namespace attnserve::testing {

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);  // Score logits
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // no connection state shared across channels
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

std::string HealthStatus(const std::shared_ptr<grpc::Channel>& channel,
                         const std::string& service) {
  auto stub = grpc::health::v1::Health::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  const grpc::Status status = stub->Check(&context, request, &response);
  if (!status.ok()) {
    return "RPC_ERROR " + std::to_string(status.error_code()) + ": " + status.error_message();
  }
  return grpc::health::v1::HealthCheckResponse::ServingStatus_Name(response.status());
}

std::vector<std::string> ReflectionServices(const std::shared_ptr<grpc::Channel>& channel) {
  namespace refl = grpc::reflection::v1alpha;
  auto stub = refl::ServerReflection::NewStub(channel);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  auto stream = stub->ServerReflectionInfo(&context);
  refl::ServerReflectionRequest request;
  request.set_list_services("*");
  std::vector<std::string> names;
  if (!stream->Write(request)) return names;
  stream->WritesDone();
  refl::ServerReflectionResponse response;
  while (stream->Read(&response)) {
    for (const auto& service : response.list_services_response().service()) {
      names.push_back(service.name());
    }
  }
  stream->Finish();
  return names;
}

std::vector<int32_t> GenerateResult::AllTokenIds() const {
  std::vector<int32_t> ids;
  for (const auto& r : responses) ids.insert(ids.end(), r.token_ids().begin(), r.token_ids().end());
  return ids;
}

std::string GenerateResult::AllText() const {
  std::string text;
  for (const auto& r : responses) text += r.text();
  return text;
}

GenerateResult Generate(v1::Inference::Stub& stub, const v1::GenerateRequest& request,
                        std::optional<std::chrono::milliseconds> timeout) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       timeout.value_or(std::chrono::milliseconds(120000)));
  GenerateResult result;
  auto reader = stub.Generate(&context, request);
  v1::GenerateResponse response;
  while (reader->Read(&response)) result.responses.push_back(response);
  result.status = reader->Finish();
  return result;
}

grpc::Status GetServerStatus(v1::Inference::Stub& stub, v1::ServerStatus* out) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return stub.GetServerStatus(&context, v1::GetServerStatusRequest(), out);
}

bool WaitForServerStatus(v1::Inference::Stub& stub,
                         const std::function<bool(const v1::ServerStatus&)>& predicate,
                         std::chrono::milliseconds timeout, v1::ServerStatus* last) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    v1::ServerStatus status;
    if (GetServerStatus(stub, &status).ok()) {
      *last = status;
      if (predicate(status)) return true;
    }
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

OpenStream::OpenStream(v1::Inference::Stub& stub, const v1::GenerateRequest& request) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  reader = stub.Generate(&context, request);
}

GenerateResult OpenStream::Finish() {
  GenerateResult result;
  v1::GenerateResponse response;
  while (reader->Read(&response)) result.responses.push_back(response);
  result.status = reader->Finish();
  return result;
}

std::string SendRawHttp(int port, const std::string& bytes) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  // A server that refuses a request early may close before all of it is written; read its answer.
  for (size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string response;
  char buffer[8192];
  ssize_t n;
  while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) response.append(buffer, static_cast<size_t>(n));
  close(fd);
  return response;
}

std::string HttpGet(int port, const std::string& path) {
  const std::string response = SendRawHttp(port, "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

std::optional<double> MetricValue(const std::string& exposition, const std::string& name,
                                  const std::string& label_filter) {
  std::istringstream lines(exposition);
  std::string line;
  std::optional<double> sum;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;  // a longer name sharing the prefix
    const size_t close = line.find('}');
    const std::string labels =
        next == '{' && close != std::string::npos ? line.substr(name.size(), close) : "";
    if (!label_filter.empty() && labels.find(label_filter) == std::string::npos) continue;
    const size_t value_at = line.find(' ', next == '{' ? close : name.size());
    sum = sum.value_or(0) + std::stod(line.substr(value_at + 1));
  }
  return sum;
}

}  // namespace attnserve::testing

// HttpTls: the TLS identity of the OpenAI HTTP API (--tls_cert / --tls_key; with --tls_client_ca
// a client certificate is required and verified, mTLS), the same files the gRPC port serves
// (server/tls/server_tls.h). Each accepted connection takes the current OpenSSL context and keeps
// it for its lifetime; Reload (SIGHUP) builds a new context from the files and swaps it in only
// when they are good, so open connections keep their session and new handshakes get the new
// identity.
#pragma once

#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "server/tls/server_tls.h"

namespace boost::asio::ssl {
class context;
}

namespace attnserve::server::http {

class HttpTls {
 public:
  // Validates the files (ValidateTlsFiles) and builds the context: TLS 1.2 or later; errors name
  // the flag, the file and what is wrong.
  static absl::StatusOr<std::unique_ptr<HttpTls>> Create(const TlsFiles& files);

  // The context new connections handshake with. Thread-safe.
  std::shared_ptr<boost::asio::ssl::context> Current() const;

  // Re-reads the files; on error the current context stays and the error says why. Thread-safe.
  absl::Status Reload();

  bool requires_client_certificate() const { return !files_.client_ca_file.empty(); }

 private:
  explicit HttpTls(TlsFiles files) : files_(std::move(files)) {}

  const TlsFiles files_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
};

}  // namespace attnserve::server::http

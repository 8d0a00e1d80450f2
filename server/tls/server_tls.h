// ServerTls: gRPC server credentials for --tls_cert / --tls_key (TLS) and --tls_client_ca (mTLS:
// a client certificate is required and verified against that CA), reloadable on SIGHUP without
// dropping streams.
//
// How reload works: the user's files are validated (PEM parses, the key matches the certificate,
// the CA bundle holds a certificate) and copied into a private snapshot directory (mode 0700,
// removed on exit); gRPC's FileWatcherCertificateProvider watches the snapshot, refreshing every
// second. Reload() validates the files again and replaces the snapshot only when they are good,
// so a half-written certificate on disk never reaches a handshake, and the change takes effect on
// SIGHUP rather than whenever an editor saves. Connections already open keep their session.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace attnserve::server {

struct TlsFiles {
  std::string cert_file;       // --tls_cert: PEM certificate chain, leaf first
  std::string key_file;        // --tls_key: PEM private key of the leaf
  std::string client_ca_file;  // --tls_client_ca: PEM CA bundle; "" = no client certificates
};

class ServerTls {
 public:
  // Validates and snapshots the files; errors name the flag, the file and what is wrong.
  static absl::StatusOr<std::unique_ptr<ServerTls>> Create(const TlsFiles& files);
  ~ServerTls();

  // Credentials for grpc::ServerBuilder::AddListeningPort (TLS 1.2+; mTLS with a client CA).
  std::shared_ptr<grpc::ServerCredentials> credentials() const { return credentials_; }
  bool requires_client_certificate() const { return !files_.client_ca_file.empty(); }

  // Re-reads the files (SIGHUP). Good files replace the snapshot (new handshakes use them within
  // about a second); on error nothing changes and the error says why.
  absl::Status Reload();

 private:
  ServerTls(TlsFiles files, std::string snapshot_dir);
  absl::Status Snapshot();  // validate the user's files and write them into snapshot_dir_

  const TlsFiles files_;
  const std::string snapshot_dir_;
  std::shared_ptr<grpc::ServerCredentials> credentials_;
};

// Checks a PEM certificate chain + private key pair (and an optional CA bundle) as ServerTls
// would; the error names the flag and file. Exposed for tests and the flag checks.
absl::Status ValidateTlsFiles(const TlsFiles& files);

}  // namespace attnserve::server

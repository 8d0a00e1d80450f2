// ServerTls (see server_tls.h).
#include "server/tls/server_tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace attnserve::server {
namespace {

constexpr unsigned kRefreshSeconds = 1;

absl::StatusOr<std::string> ReadFile(const char* flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("--", flag, " ", path, ": cannot be read"));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no PEM block found";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Number of PEM certificates in `pem`; error when none parses.
absl::StatusOr<int> CountCertificates(const char* flag, const std::string& path, const std::string& pem,
                                      X509** first) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  int n = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (n == 0 && first != nullptr) *first = cert;
    else X509_free(cert);
    ++n;
  }
  ERR_clear_error();  // the loop ends on "no start line"
  BIO_free(bio);
  if (n == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": no PEM certificate (\"-----BEGIN CERTIFICATE-----\") in it"));
  }
  return n;
}

absl::Status WriteAtomically(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << data;
    if (!out) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  }
  ::chmod(tmp.c_str(), 0600);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot rename ", tmp, ": ", ec.message()));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTlsFiles(const TlsFiles& files) {
  if (files.cert_file.empty() != files.key_file.empty()) {
    return absl::InvalidArgumentError("--tls_cert and --tls_key go together: give both or neither");
  }
  if (files.cert_file.empty()) {
    if (!files.client_ca_file.empty()) {
      return absl::InvalidArgumentError("--tls_client_ca needs --tls_cert and --tls_key (mTLS is TLS)");
    }
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> cert = ReadFile("tls_cert", files.cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile("tls_key", files.key_file);
  if (!key.ok()) return key.status();
  X509* leaf = nullptr;
  absl::StatusOr<int> chain = CountCertificates("tls_cert", files.cert_file, *cert, &leaf);
  if (!chain.ok()) return chain.status();
  BIO* bio = BIO_new_mem_buf(key->data(), static_cast<int>(key->size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  absl::Status status;
  if (pkey == nullptr) {
    status = absl::InvalidArgumentError(absl::StrCat("--tls_key ", files.key_file,
                                                     ": not a PEM private key (", OpenSslError(), ")"));
  } else if (X509_check_private_key(leaf, pkey) != 1) {
    ERR_clear_error();
    status = absl::InvalidArgumentError(absl::StrCat("--tls_key ", files.key_file,
                                                     ": does not match the certificate in --tls_cert ",
                                                     files.cert_file));
  }
  EVP_PKEY_free(pkey);
  X509_free(leaf);
  if (!status.ok()) return status;
  if (!files.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile("tls_client_ca", files.client_ca_file);
    if (!ca.ok()) return ca.status();
    absl::StatusOr<int> n = CountCertificates("tls_client_ca", files.client_ca_file, *ca, nullptr);
    if (!n.ok()) return n.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ServerTls>> ServerTls::Create(const TlsFiles& files) {
  if (absl::Status valid = ValidateTlsFiles(files); !valid.ok()) return valid;
  std::string dir_template = (std::filesystem::temp_directory_path() / "attnserve-tls-XXXXXX").string();
  if (::mkdtemp(dir_template.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot create the TLS snapshot directory ", dir_template));
  }
  std::unique_ptr<ServerTls> tls(new ServerTls(files, dir_template));
  if (absl::Status s = tls->Snapshot(); !s.ok()) return s;

  const std::string dir = tls->snapshot_dir_;
  auto provider = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      dir + "/key.pem", dir + "/cert.pem", files.client_ca_file.empty() ? "" : dir + "/client_ca.pem",
      kRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions options(provider);
  options.watch_identity_key_cert_pairs();
  if (!files.client_ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  } else {
    options.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  }
  tls->credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (tls->credentials_ == nullptr) return absl::InternalError("gRPC refused the TLS credentials");
  return tls;
}

ServerTls::ServerTls(TlsFiles files, std::string snapshot_dir)
    : files_(std::move(files)), snapshot_dir_(std::move(snapshot_dir)) {}

ServerTls::~ServerTls() {
  std::error_code ec;
  std::filesystem::remove_all(snapshot_dir_, ec);
}

absl::Status ServerTls::Snapshot() {
  if (absl::Status valid = ValidateTlsFiles(files_); !valid.ok()) return valid;
  absl::StatusOr<std::string> cert = ReadFile("tls_cert", files_.cert_file);
  absl::StatusOr<std::string> key = ReadFile("tls_key", files_.key_file);
  if (!cert.ok()) return cert.status();
  if (!key.ok()) return key.status();
  // Key first, then certificate: the watcher re-reads both and retries when they do not match.
  if (absl::Status s = WriteAtomically(snapshot_dir_ + "/key.pem", *key); !s.ok()) return s;
  if (absl::Status s = WriteAtomically(snapshot_dir_ + "/cert.pem", *cert); !s.ok()) return s;
  if (!files_.client_ca_file.empty()) {
    absl::StatusOr<std::string> ca = ReadFile("tls_client_ca", files_.client_ca_file);
    if (!ca.ok()) return ca.status();
    if (absl::Status s = WriteAtomically(snapshot_dir_ + "/client_ca.pem", *ca); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status ServerTls::Reload() { return Snapshot(); }

}  // namespace attnserve::server

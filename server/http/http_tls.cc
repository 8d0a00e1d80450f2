// HttpTls (see http_tls.h): boost::asio::ssl::context from the PEM files, swapped under a mutex.
#include "server/http/http_tls.h"

#include <boost/asio/ssl.hpp>
#include <utility>

#include "absl/strings/str_cat.h"

namespace attnserve::server::http {
namespace {

namespace ssl = boost::asio::ssl;

absl::StatusOr<std::shared_ptr<ssl::context>> BuildContext(const TlsFiles& files) {
  if (absl::Status valid = ValidateTlsFiles(files); !valid.ok()) return valid;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                           ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                           ssl::context::no_tlsv1_1 | ssl::context::single_dh_use,
                       ec);
  auto failed = [&ec](const char* flag, const std::string& file, const char* what) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, "=", file, ": HTTP TLS: cannot ", what, ": ", ec.message()));
  };
  if (context->use_certificate_chain_file(files.cert_file, ec); ec) {
    return failed("tls_cert", files.cert_file, "use the certificate chain");
  }
  if (context->use_private_key_file(files.key_file, ssl::context::pem, ec); ec) {
    return failed("tls_key", files.key_file, "use the private key");
  }
  if (!files.client_ca_file.empty()) {
    if (context->load_verify_file(files.client_ca_file, ec); ec) {
      return failed("tls_client_ca", files.client_ca_file, "load the client CA bundle");
    }
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  } else {
    context->set_verify_mode(ssl::verify_none, ec);
  }
  return context;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpTls>> HttpTls::Create(const TlsFiles& files) {
  absl::StatusOr<std::shared_ptr<ssl::context>> context = BuildContext(files);
  if (!context.ok()) return context.status();
  auto tls = std::unique_ptr<HttpTls>(new HttpTls(files));
  tls->current_ = *std::move(context);
  return tls;
}

std::shared_ptr<ssl::context> HttpTls::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

absl::Status HttpTls::Reload() {
  absl::StatusOr<std::shared_ptr<ssl::context>> context = BuildContext(files_);
  if (!context.ok()) return context.status();
  std::lock_guard<std::mutex> lock(mu_);
  current_ = *std::move(context);
  return absl::OkStatus();
}

}  // namespace attnserve::server::http

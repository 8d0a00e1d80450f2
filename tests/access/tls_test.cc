// TLS and mTLS end to end on a real daemon (certificates made per test run by
// tools/make_test_certs.sh): a TLS client that trusts the CA is served, plaintext and clients
// trusting another CA are not; with --tls_client_ca a client certificate from that CA is required;
// SIGHUP swaps in new certificate files for new connections while an open stream keeps going, and
// a broken file on SIGHUP is refused with the old identity kept; bad TLS flags stop start-up
// naming the file.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "tests/server/daemon_fixture.h"

namespace attnserve::testing {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A directory with the "test" and "other" PKIs (CA, server, client each).
class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("attnserve-tls-test-" + std::to_string(::getpid())));
    for (const char* name : {"test", "other"}) {
      const std::string command = std::string("bash ") + ATTNSERVE_MAKE_TEST_CERTS + " " + dir_->string() + " " + name;
      ASSERT_EQ(std::system(command.c_str()), 0) << command;
    }
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string File(const std::string& name) { return (*dir_ / name).string(); }

  // A fresh channel (no shared connections) trusting `ca` ("" = plaintext), optionally presenting
  // client certificate `client` ("test-client" → test-client.pem/.key).
  static std::shared_ptr<grpc::Channel> Channel(const std::string& address, const std::string& ca,
                                                const std::string& client = "") {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (ca.empty()) return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
    grpc::SslCredentialsOptions options;
    options.pem_root_certs = ReadFile(File(ca + ".pem"));
    if (!client.empty()) {
      options.pem_cert_chain = ReadFile(File(client + ".pem"));
      options.pem_private_key = ReadFile(File(client + ".key"));
    }
    args.SetSslTargetNameOverride("localhost");
    return grpc::CreateCustomChannel(address, grpc::SslCredentials(options), args);
  }

  // Starts a daemon serving TLS with `server` ("test-server") and `extra` flags; health is checked
  // over a channel trusting `ca` with client certificate `client`.
  static bool StartTls(DaemonProcess& daemon, const std::string& cert, const std::string& key,
                       const std::string& ca, const std::string& client,
                       const std::vector<std::string>& extra, std::string* error) {
    daemon.set_channel_factory([ca, client](const std::string& address) { return Channel(address, ca, client); });
    std::vector<std::string> args = {"--tls_cert=" + cert, "--tls_key=" + key};
    args.insert(args.end(), extra.begin(), extra.end());
    return daemon.Start(DefaultModelDir(), args, std::chrono::seconds(60), error);
  }

  static grpc::Status Tokenize(const std::shared_ptr<grpc::Channel>& channel) {
    auto stub = v1::Inference::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::TokenizeRequest request;
    request.set_text("hello");
    v1::TokenizeResponse response;
    return stub->Tokenize(&context, request, &response);
  }

  static fs::path* dir_;
};
fs::path* TlsTest::dir_ = nullptr;

TEST_F(TlsTest, ServesTlsClientsThatTrustTheCaOnly) {
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(StartTls(daemon, File("test-server.pem"), File("test-server.key"), "test-ca", "", {}, &error)) << error;
  EXPECT_NE(daemon.stderr_text().find("attnserve: gRPC TLS;"), std::string::npos) << daemon.stderr_text();
  auto trusted = Channel(daemon.address(), "test-ca");
  EXPECT_TRUE(Tokenize(trusted).ok());
  auto stub = v1::Inference::NewStub(trusted);
  GenerateResult generated = Generate(*stub, GreedyRequest("Hello", 3));
  EXPECT_TRUE(generated.status.ok()) << generated.status.error_message();
  EXPECT_EQ(generated.AllTokenIds().size(), 3u);
  EXPECT_EQ(Tokenize(Channel(daemon.address(), "")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "plaintext is not served";
  EXPECT_EQ(Tokenize(Channel(daemon.address(), "other-ca")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "a client that does not trust the server's CA does not connect";
  // A client certificate is not needed (nor checked) without --tls_client_ca.
  EXPECT_TRUE(Tokenize(Channel(daemon.address(), "test-ca", "other-client")).ok());
}

TEST_F(TlsTest, MutualTlsRequiresAClientCertificateFromTheClientCa) {
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(StartTls(daemon, File("test-server.pem"), File("test-server.key"), "test-ca", "test-client",
                       {"--tls_client_ca=" + File("test-ca.pem")}, &error))
      << error;
  EXPECT_NE(daemon.stderr_text().find("(mTLS)"), std::string::npos);
  EXPECT_TRUE(Tokenize(Channel(daemon.address(), "test-ca", "test-client")).ok());
  EXPECT_NE(Tokenize(Channel(daemon.address(), "test-ca")).error_code(), grpc::StatusCode::OK)
      << "no client certificate";
  EXPECT_NE(Tokenize(Channel(daemon.address(), "test-ca", "other-client")).error_code(), grpc::StatusCode::OK)
      << "a client certificate from another CA";
  // Health stays reachable for a client with a certificate (probes use one in mTLS deployments).
  EXPECT_EQ(HealthStatus(Channel(daemon.address(), "test-ca", "test-client"), "attnserve.v1.Inference"), "SERVING");
}

TEST_F(TlsTest, SighupSwapsTheCertificateForNewConnectionsAndKeepsOpenStreams) {
  // The daemon reads copies, so the test can overwrite them.
  const std::string cert = File("live.pem"), key = File("live.key");
  fs::copy_file(File("test-server.pem"), cert, fs::copy_options::overwrite_existing);
  fs::copy_file(File("test-server.key"), key, fs::copy_options::overwrite_existing);
  DaemonProcess daemon;
  std::string error;
  ASSERT_TRUE(StartTls(daemon, cert, key, "test-ca", "", {}, &error)) << error;

  auto old_channel = Channel(daemon.address(), "test-ca");
  auto old_stub = v1::Inference::NewStub(old_channel);
  grpc::ClientContext stream_context;
  v1::ModelInfo info;
  {
    grpc::ClientContext c;
    ASSERT_TRUE(old_stub->GetModelInfo(&c, v1::GetModelInfoRequest(), &info).ok());
  }
  auto stream = old_stub->Generate(&stream_context, LongRequest(info));
  v1::GenerateResponse response;
  ASSERT_TRUE(stream->Read(&response));

  EXPECT_EQ(Tokenize(Channel(daemon.address(), "other-ca")).error_code(), grpc::StatusCode::UNAVAILABLE);
  fs::copy_file(File("other-server.pem"), cert, fs::copy_options::overwrite_existing);
  fs::copy_file(File("other-server.key"), key, fs::copy_options::overwrite_existing);
  daemon.Signal(SIGHUP);
  grpc::Status swapped;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10); std::chrono::steady_clock::now() < end;) {
    swapped = Tokenize(Channel(daemon.address(), "other-ca"));
    if (swapped.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(swapped.ok()) << "new connections see the new certificate: " << swapped.error_message();
  EXPECT_NE(daemon.stderr_text().find("SIGHUP: TLS files reloaded"), std::string::npos);
  EXPECT_EQ(Tokenize(Channel(daemon.address(), "test-ca")).error_code(), grpc::StatusCode::UNAVAILABLE)
      << "the old certificate is gone for new connections";

  // The stream opened before the swap is still alive and producing tokens.
  const int before = static_cast<int>(response.token_ids_size());
  int more = 0;
  for (int i = 0; i < 5 && stream->Read(&response); ++i) more += response.token_ids_size();
  EXPECT_GT(more + before, before) << "the open stream kept streaming across the reload";
  stream_context.TryCancel();
  while (stream->Read(&response)) {
  }
  stream->Finish();

  // A key that does not match its certificate is refused on SIGHUP; the live identity stays.
  fs::copy_file(File("test-server.key"), key, fs::copy_options::overwrite_existing);
  daemon.Signal(SIGHUP);
  for (auto end = std::chrono::steady_clock::now() + kSettleTimeout; std::chrono::steady_clock::now() < end;) {
    if (daemon.stderr_text().find("TLS files kept") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(daemon.stderr_text().find("TLS files kept: --tls_key " + key + ": does not match the certificate"),
            std::string::npos)
      << daemon.stderr_text();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past a watcher refresh
  EXPECT_TRUE(Tokenize(Channel(daemon.address(), "other-ca")).ok());
}

TEST_F(TlsTest, BadTlsFlagsStopStartupNamingTheFile) {
  struct Case {
    std::vector<std::string> args;
    std::string fragment;
  };
  const std::vector<Case> cases = {
      {{"--tls_cert=" + File("test-server.pem")}, "--tls_cert and --tls_key go together"},
      {{"--tls_client_ca=" + File("test-ca.pem")}, "--tls_client_ca needs --tls_cert and --tls_key"},
      {{"--tls_cert=" + File("test-server.pem"), "--tls_key=" + File("other-server.key")},
       "--tls_key " + File("other-server.key") + ": does not match the certificate"},
      {{"--tls_cert=" + File("test-server.key"), "--tls_key=" + File("test-server.key")},
       "--tls_cert " + File("test-server.key") + ": no PEM certificate"},
      {{"--tls_cert=" + File("test-server.pem"), "--tls_key=" + File("test-server.pem")},
       "--tls_key " + File("test-server.pem") + ": not a PEM private key"},
      {{"--tls_cert=/nonexistent/cert.pem", "--tls_key=" + File("test-server.key")},
       "--tls_cert /nonexistent/cert.pem: cannot be read"},
      {{"--tls_cert=" + File("test-server.pem"), "--tls_key=" + File("test-server.key"),
        "--tls_client_ca=" + File("test-client.key")},
       "--tls_client_ca " + File("test-client.key") + ": no PEM certificate"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"--model=" + DefaultModelDir(), "--port=0", "--metrics_port=0"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    ExitResult r = RunToExit(args, std::chrono::seconds(60));
    EXPECT_TRUE(r.exited);
    EXPECT_EQ(r.exit_code, 1) << c.fragment;
    EXPECT_NE(r.stderr_text.find(c.fragment), std::string::npos) << "want: " << c.fragment << "\ngot: " << r.stderr_text;
  }
}

}  // namespace
}  // namespace attnserve::testing

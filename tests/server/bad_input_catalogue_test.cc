// Runs the catalogue of bad inputs (bad_input_catalogue.h) against the real daemon: the gRPC and
// HTTP rows on two shared daemons (default test model, HTTP API on, a small
// --http_max_body_bytes; the second with --chat_template), each row followed by a check that the
// daemon still serves a greedy request over both front doors; the start-up rows each on a
// short-lived daemon of their own. Also renders the catalogue as the Markdown table of
// docs/reliability.md and checks the document lists every row (ATTNSERVE_PRINT_CATALOGUE=1
// prints the table).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "tests/server/bad_input_catalogue.h"
#include "tests/server/daemon_fixture.h"

#ifndef ATTNSERVE_SOURCE_DIR
#error "ATTNSERVE_SOURCE_DIR must name the source tree (for docs/reliability.md)"
#endif

namespace attnserve::testing::catalogue {
namespace {

namespace fs = std::filesystem;

// --- a raw HTTP/1.1 client -----------------------------------------------------------------------

struct HttpReply {
  int status = 0;  // 0: no parseable answer
  std::string headers;
  std::string body;
};

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Serialize(const HttpRequestSpec& r) {
  if (!r.raw.empty()) return r.raw;
  std::string out = r.method + " " + r.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!r.body.empty()) out += "Content-Type: " + r.content_type + "\r\n";
  out += r.extra_headers;
  if (!r.body.empty() || r.method == "POST") out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  return out + "\r\n" + r.body;
}

// The body of a chunked transfer encoding.
std::string Dechunk(const std::string& chunked) {
  std::string body;
  size_t at = 0;
  while (at < chunked.size()) {
    const size_t line_end = chunked.find("\r\n", at);
    if (line_end == std::string::npos) break;
    const size_t size = std::stoul(chunked.substr(at, line_end - at), nullptr, 16);
    if (size == 0) break;
    body += chunked.substr(line_end + 2, size);
    at = line_end + 2 + size + 2;
  }
  return body;
}

// Sends `bytes` to 127.0.0.1:`port` and reads the answer until the server closes.
HttpReply SendHttp(int port, const std::string& bytes) {
  HttpReply reply;
  const std::string response = SendRawHttp(port, bytes);
  const size_t head_end = response.find("\r\n\r\n");
  if (response.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos) return reply;
  reply.status = std::atoi(response.c_str() + response.find(' ') + 1);
  reply.headers = Lower(response.substr(0, head_end));
  reply.body = response.substr(head_end + 4);
  if (reply.headers.find("transfer-encoding: chunked") != std::string::npos) reply.body = Dechunk(reply.body);
  return reply;
}

// --- the shared daemons --------------------------------------------------------------------------

struct ServedDaemon {
  std::unique_ptr<StartedDaemon> daemon;
  int http_port = 0;
  std::unique_ptr<grpc::GenericStub> generic;
};

struct SharedDaemons {
  ServedDaemon by_kind[2];
  std::string start_error;
  std::string scratch;  // holds the chat template file
};

SharedDaemons& shared() {
  static SharedDaemons s;
  return s;
}

ServedDaemon& Served(Daemon kind) { return shared().by_kind[kind == Daemon::kDefault ? 0 : 1]; }

bool StartServed(Daemon kind, const std::vector<std::string>& extra_args, std::string* error) {
  ServedDaemon& s = Served(kind);
  s.http_port = FreePort();
  std::vector<std::string> args = {"--http_port=" + std::to_string(s.http_port),
                                   "--http_max_body_bytes=" + std::to_string(kHttpMaxBodyBytes)};
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  s.daemon = StartedDaemon::Start(args, error);
  if (s.daemon == nullptr) return false;
  s.generic = std::make_unique<grpc::GenericStub>(s.daemon->channel);
  return true;
}

// The daemon answers health SERVING and a greedy request on gRPC, /health and /v1/completions.
void ExpectStillServing(const ServedDaemon& s) {
  ASSERT_TRUE(s.daemon->process.running());
  EXPECT_EQ(HealthStatus(s.daemon->channel, "attnserve.v1.Inference"), "SERVING");
  const GenerateResult generated = Generate(*s.daemon->stub, GreedyRequest("Hello", 3));
  EXPECT_TRUE(generated.status.ok()) << generated.status.error_message();
  EXPECT_EQ(generated.AllTokenIds().size(), 3u);

  HttpRequestSpec health;
  health.method = "GET";
  health.path = "/health";
  EXPECT_EQ(SendHttp(s.http_port, Serialize(health)).status, 200);
  HttpRequestSpec completion;
  completion.path = "/v1/completions";
  completion.body = R"({"prompt": "Hello", "max_tokens": 2, "temperature": 0, "ignore_eos": true})";
  const HttpReply reply = SendHttp(s.http_port, Serialize(completion));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << reply.body;
  EXPECT_EQ(body["usage"].value("completion_tokens", -1), 2) << reply.body;
}

class BadInputCatalogueTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    SharedDaemons& s = shared();
    s.start_error.clear();
    std::string pattern = (fs::temp_directory_path() / "attnserve-catalogue-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      s.start_error = "mkdtemp failed";
      return;
    }
    s.scratch = pattern;
    const std::string template_path = s.scratch + "/chatml.jinja";
    std::ofstream(template_path) << kChatTemplate;
    if (!StartServed(Daemon::kDefault, {}, &s.start_error)) return;
    StartServed(Daemon::kChatTemplate, {"--chat_template=" + template_path}, &s.start_error);
  }

  static void TearDownTestSuite() {
    SharedDaemons& s = shared();
    for (ServedDaemon& served : s.by_kind) {
      if (served.daemon != nullptr && served.daemon->process.running()) {
        const ExitResult exit = served.daemon->process.Stop(std::chrono::seconds(20));
        EXPECT_TRUE(exit.exited && exit.exit_code == 0)
            << "daemon did not shut down cleanly on SIGTERM:\n" << exit.stderr_text;
      }
      served = ServedDaemon();
    }
    if (!s.scratch.empty()) fs::remove_all(s.scratch);
  }

  void SetUp() override { ASSERT_TRUE(shared().start_error.empty()) << shared().start_error; }
};

TEST_F(BadInputCatalogueTest, GrpcRowsGetTheirStatusAndTheDaemonKeepsServing) {
  {  // The raw-payload rows' control: the generic stub reaches the service with a valid payload.
    v1::TokenizeRequest valid;
    valid.set_text("Hello");
    const GrpcOutcome outcome = RawUnaryCall(*Served(Daemon::kDefault).generic,
                                             "/attnserve.v1.Inference/Tokenize", valid.SerializeAsString());
    ASSERT_TRUE(outcome.status.ok()) << outcome.status.error_code() << ": " << outcome.status.error_message();
    EXPECT_EQ(outcome.messages, 1);
  }
  for (const GrpcRow& row : GrpcRows()) {
    SCOPED_TRACE("gRPC row " + row.name);
    ServedDaemon& served = Served(row.daemon);
    GrpcCallContext context{*served.daemon->stub, *served.generic, served.daemon->info};
    const GrpcOutcome outcome = row.call(context);
    EXPECT_EQ(outcome.status.error_code(), row.code)
        << "code " << outcome.status.error_code() << ": " << outcome.status.error_message();
    EXPECT_NE(outcome.status.error_message().find(row.fragment), std::string::npos)
        << "message \"" << outcome.status.error_message() << "\" lacks \"" << row.fragment << "\"";
    EXPECT_EQ(outcome.messages, 0) << "a refused call sent a response first";
    ExpectStillServing(served);
  }
}

TEST_F(BadInputCatalogueTest, HttpRowsGetTheirStatusAndTheDaemonKeepsServing) {
  for (const HttpRow& row : HttpRows()) {
    SCOPED_TRACE("HTTP row " + row.name);
    const ServedDaemon& served = Served(row.daemon);
    const HttpReply reply = SendHttp(served.http_port, Serialize(row.request));
    EXPECT_EQ(reply.status, row.status) << reply.headers << "\n\n" << reply.body;
    EXPECT_NE(reply.headers.find("content-type: application/json"), std::string::npos) << reply.headers;
    const nlohmann::json body = nlohmann::json::parse(reply.body, nullptr, false);
    ASSERT_TRUE(body.is_object() && body.contains("error") && body["error"].is_object()) << reply.body;
    const nlohmann::json& error = body["error"];
    std::set<std::string> keys;
    for (const auto& item : error.items()) keys.insert(item.key());
    EXPECT_EQ(keys, (std::set<std::string>{"message", "type", "param", "code"})) << reply.body;
    ASSERT_TRUE(error["message"].is_string()) << reply.body;
    EXPECT_EQ(error["type"], row.type) << reply.body;
    if (row.param.has_value()) {
      if (row.param->empty()) {
        EXPECT_TRUE(error["param"].is_null()) << reply.body;
      } else {
        EXPECT_EQ(error["param"], *row.param) << reply.body;
      }
    }
    EXPECT_NE(error["message"].get<std::string>().find(row.fragment), std::string::npos)
        << "message lacks \"" << row.fragment << "\": " << reply.body;
    ExpectStillServing(served);
  }
}

// --- start-up rows -------------------------------------------------------------------------------

TEST(BadInputCatalogueStartup, EveryRowExitsNonZeroNamingTheInput) {
  for (const StartupRow& row : StartupRows()) {
    SCOPED_TRACE("start-up row " + row.name);
    std::string scratch = (fs::temp_directory_path() / "attnserve-startup-XXXXXX").string();
    ASSERT_NE(mkdtemp(scratch.data()), nullptr);
    std::vector<std::string> args = {"--host=127.0.0.1", "--port=" + std::to_string(FreePort()),
                                     "--metrics_port=0"};
    const std::vector<std::string> row_args = row.setup(scratch);
    args.insert(args.end(), row_args.begin(), row_args.end());
    const ExitResult result = RunToExit(args, std::chrono::seconds(60));
    fs::remove_all(scratch);
    ASSERT_TRUE(result.exited) << "still running after 60 s:\n" << result.stderr_text;
    EXPECT_EQ(result.signal, 0) << "crashed with signal " << result.signal << ":\n" << result.stderr_text;
    EXPECT_NE(result.exit_code, 0) << result.stderr_text;
    for (const std::string& fragment : row.fragments) {
      EXPECT_NE(result.stderr_text.find(fragment), std::string::npos)
          << "stderr lacks \"" << fragment << "\":\n" << result.stderr_text;
    }
  }
}

// --- the table itself ----------------------------------------------------------------------------

// The code's name as in the gRPC docs ("DEADLINE_EXCEEDED"); gRPC's codes equal absl's.
std::string CodeName(grpc::StatusCode code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

// A Markdown table cell: `|` escaped.
std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string Code(const std::string& text) { return text.empty() ? "—" : Cell("`" + text + "`"); }

TEST(BadInputCatalogue, HasAtLeastFortyUniquelyNamedRows) {
  EXPECT_GE(GrpcRows().size(), 15u);
  EXPECT_GE(HttpRows().size(), 12u);
  EXPECT_GE(StartupRows().size(), 10u);
  EXPECT_GE(GrpcRows().size() + HttpRows().size() + StartupRows().size(), 40u);
  std::set<std::string> names;
  for (const GrpcRow& row : GrpcRows()) EXPECT_TRUE(names.insert("grpc " + row.name).second) << row.name;
  for (const HttpRow& row : HttpRows()) EXPECT_TRUE(names.insert("http " + row.name).second) << row.name;
  for (const StartupRow& row : StartupRows()) {
    EXPECT_TRUE(names.insert("startup " + row.name).second) << row.name;
    EXPECT_FALSE(row.fragments.empty()) << row.name;
  }
}

TEST(BadInputCatalogue, ReliabilityDocListsEveryRow) {
  const std::string table = CatalogueMarkdown();
  if (std::getenv("ATTNSERVE_PRINT_CATALOGUE") != nullptr) std::cout << table;
  std::ifstream in(std::string(ATTNSERVE_SOURCE_DIR) + "/docs/reliability.md");
  std::stringstream doc;
  doc << in.rdbuf();
  std::istringstream lines(table);
  std::string line;
  bool all_listed = true;
  while (std::getline(lines, line)) {
    if (doc.str().find(line + "\n") == std::string::npos) {
      ADD_FAILURE() << "docs/reliability.md lacks the catalogue line:\n" << line;
      all_listed = false;
    }
  }
  if (!all_listed) {
    std::cout << "The catalogue table for docs/reliability.md (also printed with "
                 "ATTNSERVE_PRINT_CATALOGUE=1):\n" << table;
  }
}

}  // namespace

std::string CatalogueMarkdown() {
  std::ostringstream out;
  out << "| Surface | Row | Input | Expected | Message contains |\n"
      << "|---|---|---|---|---|\n";
  for (const GrpcRow& row : GrpcRows()) {
    out << "| gRPC | " << row.name << " | " << Cell(row.input) << " | `" << CodeName(row.code) << "`"
        << (row.daemon == Daemon::kChatTemplate ? " (with `--chat_template`)" : "") << " | "
        << Code(row.fragment) << " |\n";
  }
  for (const HttpRow& row : HttpRows()) {
    std::string expected = std::to_string(row.status) + " `" + row.type + "`";
    if (row.param.has_value()) expected += row.param->empty() ? ", param null" : ", param `" + *row.param + "`";
    if (row.daemon == Daemon::kChatTemplate) expected += " (with `--chat_template`)";
    out << "| HTTP | " << row.name << " | " << Cell(row.input) << " | " << Cell(expected) << " | "
        << Code(row.fragment) << " |\n";
  }
  for (const StartupRow& row : StartupRows()) {
    std::string fragments;
    for (const std::string& f : row.fragments) fragments += (fragments.empty() ? "" : " + ") + Code(f);
    out << "| start-up | " << row.name << " | " << Cell(row.input) << " | exit ≠ 0, stderr | " << fragments
        << " |\n";
  }
  return out.str();
}

}  // namespace attnserve::testing::catalogue

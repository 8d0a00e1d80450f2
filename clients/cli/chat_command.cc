// attnserve-cli chat (see chat_command.h; the request fields are in docs/api.md, "chat").
// Interactive mode reads stdin with poll(2) so a SIGINT at the prompt ends the program, and a
// watcher thread turns a SIGINT during a reply into ClientContext::TryCancel.
#include "clients/cli/chat_command.h"

#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace attnserve::cli {
namespace {

using Clock = std::chrono::steady_clock;

// Set by the SIGINT handler (interactive mode only); lock-free, so safe to store from it.
std::atomic<bool> g_interrupted{false};
static_assert(std::atomic<bool>::is_always_lock_free);

extern "C" void OnSigint(int) { g_interrupted.store(true); }

void InstallSigintHandler() {
  struct sigaction action {};
  action.sa_handler = OnSigint;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // stdout writes restart; poll(2) still returns EINTR
  sigaction(SIGINT, &action, nullptr);
}

void PrintStatus(const grpc::Status& status) {
  // gRPC status codes equal absl's; absl names them ("FAILED_PRECONDITION", ...).
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(status.error_code()));
  std::fprintf(stderr, "attnserve-cli: %s: %s\n", name.empty() ? "UNKNOWN" : name.c_str(),
               status.error_message().c_str());
}

v1::ChatMessage Message(const std::string& role, const std::string& content) {
  v1::ChatMessage m;
  m.set_role(role);
  m.set_content(content);
  return m;
}

v1::GenerateRequest BuildRequest(const GenerateOptions& options,
                                 const std::vector<v1::ChatMessage>& history) {
  v1::GenerateRequest request = RequestWithOptions(options);
  for (const v1::ChatMessage& m : history) *request.add_messages() = m;
  request.set_add_generation_prompt(true);
  return request;
}

struct Reply {
  grpc::Status status;
  std::string text;         // what was streamed (also when cancelled or failed)
  bool cancelled = false;   // ended by Ctrl-C
  v1::GenerateResponse last;
  double seconds = 0;
};

// Streams one reply to stdout. With `cancel_on_sigint`, a SIGINT cancels the call.
Reply StreamReply(v1::Inference::Stub& stub, const CallOptions& call,
                  const v1::GenerateRequest& request, bool cancel_on_sigint) {
  grpc::ClientContext context;
  if (call.timeout.has_value()) {
    context.set_deadline(std::chrono::system_clock::now() + *call.timeout);
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watcher;
  if (cancel_on_sigint) {
    watcher = std::thread([&] {
      std::unique_lock<std::mutex> lock(mu);
      while (!done) {
        if (g_interrupted.load()) {
          context.TryCancel();
          return;
        }
        cv.wait_for(lock, std::chrono::milliseconds(20));
      }
    });
  }
  Reply reply;
  const Clock::time_point start = Clock::now();
  auto reader = stub.Generate(&context, request);
  v1::GenerateResponse response;
  while (reader->Read(&response)) {
    std::fwrite(response.text().data(), 1, response.text().size(), stdout);
    std::fflush(stdout);
    reply.text += response.text();
    reply.last = response;
  }
  if (watcher.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    watcher.join();
  }
  reply.status = reader->Finish();
  reply.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  reply.cancelled = cancel_on_sigint && g_interrupted.load() &&
                    reply.status.error_code() == grpc::StatusCode::CANCELLED;
  std::fputc('\n', stdout);
  std::fflush(stdout);
  return reply;
}

void PrintStats(const Reply& reply) {
  const v1::GenerateResponse& last = reply.last;
  const uint32_t completion = last.usage().completion_tokens();
  std::fprintf(stderr, "[%s%s%s] prompt_tokens=%u completion_tokens=%u total=%.3fs (%.1f tokens/s)\n",
               v1::FinishReason_Name(last.finish_reason()).c_str(),
               last.stop_reason().empty() ? "" : " stop_reason=", last.stop_reason().c_str(),
               last.usage().prompt_tokens(), completion, reply.seconds,
               reply.seconds > 0 ? completion / reply.seconds : 0.0);
}

// Lines from stdin via poll(2)+read(2), so a SIGINT while waiting is seen at once.
class LineReader {
 public:
  enum class Result { kLine, kEof, kInterrupted };

  Result Next(std::string* line) {
    while (true) {
      if (const size_t nl = buffer_.find('\n'); nl != std::string::npos) {
        *line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        if (!line->empty() && line->back() == '\r') line->pop_back();
        return Result::kLine;
      }
      if (eof_) {
        if (buffer_.empty()) return Result::kEof;
        *line = std::move(buffer_);
        buffer_.clear();
        return Result::kLine;
      }
      if (g_interrupted.load()) return Result::kInterrupted;
      pollfd fd{STDIN_FILENO, POLLIN, 0};
      const int ready = poll(&fd, 1, 100);
      if (ready < 0 && errno != EINTR) return Result::kEof;
      if (ready <= 0) continue;
      char chunk[4096];
      const ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        eof_ = true;
        continue;
      }
      buffer_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  std::string buffer_;
  bool eof_ = false;
};

int OneShot(v1::Inference::Stub& stub, const CallOptions& call, const ChatOptions& options) {
  std::vector<v1::ChatMessage> history;
  if (!options.system.empty()) history.push_back(Message("system", options.system));
  if (!options.messages_file.empty()) {
    std::ifstream in(options.messages_file);
    if (!in) {
      std::fprintf(stderr, "attnserve-cli: cannot read --messages_file %s\n",
                   options.messages_file.c_str());
      return 1;
    }
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseChatMessagesJson(text.str());
    if (!parsed.ok()) {
      std::fprintf(stderr, "attnserve-cli: --messages_file %s: %s\n", options.messages_file.c_str(),
                   std::string(parsed.status().message()).c_str());
      return 1;
    }
    history.insert(history.end(), parsed->begin(), parsed->end());
  }
  if (!options.question.empty()) history.push_back(Message("user", options.question));
  const Reply reply = StreamReply(stub, call, BuildRequest(options.generate, history), false);
  if (!reply.status.ok()) {
    PrintStatus(reply.status);
    return 1;
  }
  PrintStats(reply);
  return 0;
}

int Interactive(v1::Inference::Stub& stub, const CallOptions& call, const ChatOptions& options) {
  const bool tty = isatty(STDIN_FILENO) == 1;
  InstallSigintHandler();
  std::vector<v1::ChatMessage> base;
  if (!options.system.empty()) base.push_back(Message("system", options.system));
  std::vector<v1::ChatMessage> history = base;
  if (tty) {
    std::fputs("attnserve-cli chat: /reset clears the history, /exit or Ctrl-D ends; Ctrl-C stops a "
               "reply, and at the prompt ends. A line ending in \\ continues on the next.\n",
               stderr);
  }
  LineReader reader;
  bool failed = false;
  while (true) {
    std::string turn;
    bool continued = false;
    LineReader::Result result = LineReader::Result::kLine;
    do {
      if (tty) std::fputs(continued ? ". " : "> ", stderr);
      std::string line;
      result = reader.Next(&line);
      if (result != LineReader::Result::kLine) break;
      continued = !line.empty() && line.back() == '\\';
      if (continued) line.pop_back();
      if (!turn.empty()) turn += '\n';
      turn += line;
    } while (continued);
    if (result == LineReader::Result::kInterrupted) {
      if (tty) std::fputc('\n', stderr);
      break;
    }
    if (result == LineReader::Result::kEof && turn.empty()) {
      if (tty) std::fputc('\n', stderr);
      break;
    }
    const std::string command(absl::StripAsciiWhitespace(turn));
    if (command.empty()) continue;
    if (command == "/exit" || command == "/bye" || command == "/quit") break;
    if (command == "/reset" || command == "/clear") {
      history = base;
      if (tty) std::fputs("(history cleared)\n", stderr);
      continue;
    }
    history.push_back(Message("user", turn));
    g_interrupted.store(false);
    const Reply reply = StreamReply(stub, call, BuildRequest(options.generate, history), true);
    g_interrupted.store(false);
    if (reply.cancelled) {
      // The cancelled turn leaves the history: the next turn continues from the one before.
      history.pop_back();
      std::fputs("[cancelled]\n", stderr);
      continue;
    }
    if (!reply.status.ok()) {
      history.pop_back();
      PrintStatus(reply.status);
      failed = true;
      continue;
    }
    history.push_back(Message("assistant", reply.text));
    if (!tty) PrintStats(reply);
  }
  return failed ? 1 : 0;
}

absl::Status FieldError(size_t i, const std::string& field, const std::string& problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("messages[", i, "]", field.empty() ? "" : ".", field, ": ", problem));
}

}  // namespace

absl::StatusOr<std::vector<v1::ChatMessage>> ParseChatMessagesJson(const std::string& json_text) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("not valid JSON");
  if (doc.is_object() && doc.contains("messages")) doc = doc["messages"];
  if (!doc.is_array()) return absl::InvalidArgumentError("expected a JSON array of messages");
  std::vector<v1::ChatMessage> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const nlohmann::json& m = doc[i];
    if (!m.is_object()) return FieldError(i, "", "expected an object");
    v1::ChatMessage message;
    if (!m.contains("role") || !m["role"].is_string()) return FieldError(i, "role", "expected a string");
    message.set_role(m["role"].get<std::string>());
    if (m.contains("content")) {
      const nlohmann::json& content = m["content"];
      if (content.is_string()) {
        message.set_content(content.get<std::string>());
      } else if (content.is_array()) {
        std::string text;
        for (size_t j = 0; j < content.size(); ++j) {
          const nlohmann::json& part = content[j];
          const std::string where = absl::StrCat("content[", j, "]");
          if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
              !part["text"].is_string()) {
            return FieldError(i, where, "only {\"type\": \"text\", \"text\": ...} parts are supported");
          }
          if (j > 0) text += '\n';  // as the server joins OpenAI text parts (docs/api.md)
          text += part["text"].get<std::string>();
        }
        message.set_content(text);
      } else if (!content.is_null()) {
        return FieldError(i, "content", "expected a string, null or an array of text parts");
      }
    }
    for (const char* field : {"name", "tool_call_id"}) {
      if (!m.contains(field) || m[field].is_null()) continue;
      if (!m[field].is_string()) return FieldError(i, field, "expected a string");
      const std::string value = m[field].get<std::string>();
      if (std::string(field) == "name") message.set_name(value);
      else message.set_tool_call_id(value);
    }
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      const nlohmann::json& calls = m["tool_calls"];
      if (!calls.is_array()) return FieldError(i, "tool_calls", "expected an array");
      for (size_t j = 0; j < calls.size(); ++j) {
        const nlohmann::json& c = calls[j];
        const std::string where = absl::StrCat("tool_calls[", j, "]");
        if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) {
          return FieldError(i, where, "expected {\"function\": {\"name\": ..., \"arguments\": ...}}");
        }
        const nlohmann::json& f = c["function"];
        if (!f.contains("name") || !f["name"].is_string()) {
          return FieldError(i, where + ".function.name", "expected a string");
        }
        v1::ToolCall* call = message.add_tool_calls();
        if (c.contains("id") && c["id"].is_string()) call->set_id(c["id"].get<std::string>());
        call->set_name(f["name"].get<std::string>());
        if (f.contains("arguments")) {
          // OpenAI sends arguments as a JSON string; an object is accepted too.
          call->set_arguments_json(f["arguments"].is_string() ? f["arguments"].get<std::string>()
                                                              : f["arguments"].dump());
        }
      }
    }
    out.push_back(std::move(message));
  }
  return out;
}

int Chat(v1::Inference::Stub& stub, const CallOptions& call, const ChatOptions& options) {
  if (!options.question.empty() || !options.messages_file.empty()) return OneShot(stub, call, options);
  return Interactive(stub, call, options);
}

}  // namespace attnserve::cli

// attnserve-cli chat: a conversation over GenerateRequest.messages, rendered by the server's chat
// template (see docs/api.md). Interactive (turns from stdin, replies streamed to stdout and kept in
// the history; /reset, /exit, Ctrl-C cancels a reply) or one-shot (one question or a messages file,
// one reply). Returns the process exit code.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "attnserve/v1/inference.grpc.pb.h"
#include "clients/cli/commands.h"

namespace attnserve::cli {

struct ChatOptions {
  GenerateOptions generate;    // sampling, max_tokens, stop, attention (logprobs unused)
  std::string system;          // system message first in every request ("" = none)
  std::string messages_file;   // OpenAI-style messages JSON; set = one-shot
  std::string question;        // one-shot user turn (appended after the file's messages)
};

// One-shot when `question` or `messages_file` is set: prints the reply and exits 0, or prints the
// status and returns 1. Otherwise interactive until EOF, /exit or Ctrl-C at the prompt; returns 1
// when some turn failed with a server error, else 0.
int Chat(v1::Inference::Stub& stub, const CallOptions& call, const ChatOptions& options);

// Parses an OpenAI-style messages array ([{"role":..,"content":..},..], or {"messages":[..]}):
// content as a string, null, or text parts; name, tool_call_id, tool_calls. INVALID_ARGUMENT
// naming messages[i].<field> otherwise.
absl::StatusOr<std::vector<v1::ChatMessage>> ParseChatMessagesJson(const std::string& json_text);

}  // namespace attnserve::cli

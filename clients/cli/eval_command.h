// attnserve-cli eval: perplexity of a served model on a text file, through Score, at several
// evaluation lengths and for several attention choices and context policies — the
// quality side of every approximation the server offers. The text is tokenized by the server,
// cut into consecutive non-overlapping windows of each length, and each window is scored
// independently: perplexity = exp(-mean log p(token_i | window tokens before i)), i >= 1.
#pragma once

#include <string>
#include <vector>

#include "attnserve/v1/inference.grpc.pb.h"
#include "clients/cli/commands.h"

namespace attnserve::cli {

struct EvalOptions {
  std::string text_file;
  std::vector<int> lengths = {256};
  std::vector<std::string> attentions = {""};  // --attention syntax; "" = the server default
  std::vector<std::string> context_policies = {""};  // --context_policy syntax; "" = the server default
  int max_windows = 8;    // windows per length (from the start of the text)
  int concurrency = 2;    // Score calls in flight
  std::string json_path;  // when set: one JSON object per (attention, length) cell
};

int Eval(v1::Inference::Stub& stub, const CallOptions& call, const EvalOptions& options);

}  // namespace attnserve::cli

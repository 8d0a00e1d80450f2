// attnserve-cli eval (see eval_command.h).
#include "clients/cli/eval_command.h"

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "clients/cli/attention_arg.h"
#include "nlohmann/json.hpp"

namespace attnserve::cli {
namespace {

struct Cell {
  double nll_sum = 0;   // -Σ log p
  int64_t tokens = 0;   // predicted tokens
  int windows = 0;
  double seconds = 0;
  std::string error;
};

// Scores windows [0, n) of length L concurrently; sums their log-probabilities.
Cell ScoreWindows(v1::Inference::Stub& stub, const CallOptions& call, const std::vector<int32_t>& ids,
                  int length, int n, const v1::AttentionConfig& attention, const v1::ContextPolicy& policy,
                  int concurrency) {
  Cell cell;
  std::atomic<int> next{0};
  std::mutex mu;
  const auto start = std::chrono::steady_clock::now();
  auto worker = [&] {
    for (int w = next++; w < n; w = next++) {
      v1::ScoreRequest request;
      request.mutable_token_ids()->Add(ids.begin() + int64_t{w} * length, ids.begin() + int64_t{w + 1} * length);
      *request.mutable_attention() = attention;
      *request.mutable_context_policy() = policy;
      grpc::ClientContext context;
      if (call.timeout) context.set_deadline(std::chrono::system_clock::now() + *call.timeout);
      v1::ScoreResponse response;
      const grpc::Status status = stub.Score(&context, request, &response);
      std::lock_guard<std::mutex> lock(mu);
      if (!status.ok()) {
        cell.error = absl::StrCat(static_cast<int>(status.error_code()), ": ", status.error_message());
        continue;
      }
      for (float lp : response.token_logprobs()) cell.nll_sum -= lp;
      cell.tokens += response.token_logprobs_size();
      ++cell.windows;
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, concurrency); ++t) threads.emplace_back(worker);
  for (std::thread& t : threads) t.join();
  cell.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return cell;
}

}  // namespace

int Eval(v1::Inference::Stub& stub, const CallOptions& call, const EvalOptions& options) {
  std::ifstream in(options.text_file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "attnserve-cli eval: cannot read --text_file=%s\n", options.text_file.c_str());
    return 1;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  v1::TokenizeRequest tokenize;
  tokenize.set_text(buffer.str());
  tokenize.set_add_special_tokens(false);
  v1::TokenizeResponse tokens;
  {
    grpc::ClientContext context;
    const grpc::Status status = stub.Tokenize(&context, tokenize, &tokens);
    if (!status.ok()) {
      std::fprintf(stderr, "attnserve-cli eval: Tokenize failed: %s\n", status.error_message().c_str());
      return 1;
    }
  }
  const std::vector<int32_t> ids(tokens.token_ids().begin(), tokens.token_ids().end());
  std::fprintf(stderr, "%s: %zu tokens\n", options.text_file.c_str(), ids.size());

  // One row per (attention, context policy) pair.
  struct Row {
    std::string attention, policy, label;
    v1::AttentionConfig attention_config;
    v1::ContextPolicy policy_config;
  };
  std::vector<Row> rows;
  for (const std::string& a : options.attentions) {
    absl::StatusOr<v1::AttentionConfig> c = ParseAttentionArg(a);
    if (!c.ok()) {
      std::fprintf(stderr, "attnserve-cli eval: --attention \"%s\": %s\n", a.c_str(), std::string(c.status().message()).c_str());
      return 2;
    }
    for (const std::string& p : options.context_policies) {
      absl::StatusOr<v1::ContextPolicy> cp = ParseContextPolicyArg(p);
      if (!cp.ok()) {
        std::fprintf(stderr, "attnserve-cli eval: --context_policy \"%s\": %s\n", p.c_str(),
                     std::string(cp.status().message()).c_str());
        return 2;
      }
      std::string label = a.empty() ? "" : a;
      if (!p.empty()) label += label.empty() ? p : " | " + p;
      rows.push_back({a, p, label.empty() ? "(server default)" : label, *c, *cp});
    }
  }
  std::ofstream json;
  if (!options.json_path.empty()) json.open(options.json_path);
  std::printf("%-48s", "attention | context policy \\ length");
  for (int L : options.lengths) std::printf(" %12d", L);
  std::printf("\n");
  int failures = 0;
  for (const Row& row_spec : rows) {
    const std::string& label = row_spec.label;
    std::printf("%-48s", label.c_str());
    std::fflush(stdout);
    for (int L : options.lengths) {
      const int n = static_cast<int>(std::min<int64_t>(options.max_windows, static_cast<int64_t>(ids.size()) / L));
      if (L < 2 || n < 1) {
        std::printf(" %12s", "too short");
        continue;
      }
      const Cell cell = ScoreWindows(stub, call, ids, L, n, row_spec.attention_config, row_spec.policy_config,
                                     options.concurrency);
      const double ppl = cell.tokens > 0 ? std::exp(cell.nll_sum / cell.tokens) : NAN;
      if (!cell.error.empty()) {
        ++failures;
        std::printf(" %12s", "error");
        std::fprintf(stderr, "\n  %s at %d: %s\n", label.c_str(), L, cell.error.c_str());
      } else {
        std::printf(" %12.3f", ppl);
      }
      std::fflush(stdout);
      if (json.is_open()) {
        nlohmann::json row = {{"attention", row_spec.attention}, {"context_policy", row_spec.policy},
                              {"length", L}, {"windows", cell.windows},
                              {"tokens", cell.tokens}, {"seconds", cell.seconds}};
        if (cell.error.empty()) row["perplexity"] = ppl;
        else row["error"] = cell.error;
        json << row.dump() << "\n";
      }
    }
    std::printf("\n");
  }
  return failures == 0 ? 0 : 1;
}

}  // namespace attnserve::cli

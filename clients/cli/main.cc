// attnserve-cli: command-line client for an attnserve daemon.
//   attnserve-cli generate "<prompt>" [--max_tokens --temperature --top_p --top_k --seed --stop
//                 --stop_token_ids --ignore_eos --logprobs N]
//   attnserve-cli score "<text>" | score --ids 1,2,3
//   attnserve-cli tokenize "<text>" | detokenize 1,2,3 | info | status
//   attnserve-cli eval --text_file=F --lengths=256,1024 --attention="full;sliding_window:window=64"
//   attnserve-cli chat ["<question>"] [--system=S --messages_file=F.json + the generate flags]
// Common: --addr (default localhost:50051), --timeout_s. Exit 1 on a non-OK status.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "clients/cli/attention_arg.h"
#include "clients/cli/chat_command.h"
#include "clients/cli/commands.h"
#include "clients/cli/eval_command.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, addr, "localhost:50051", "attnserve gRPC address (host:port).");
ABSL_FLAG(double, timeout_s, 0, "Client deadline per call in seconds; 0 = none.");
ABSL_FLAG(uint32_t, max_tokens, 16, "generate: maximum new tokens (chat: 256 unless given).");
ABSL_FLAG(float, temperature, 1.0f, "generate: sampling temperature; 0 = greedy.");
ABSL_FLAG(float, top_p, 1.0f, "generate: nucleus sampling mass in (0, 1].");
ABSL_FLAG(int32_t, top_k, 0, "generate: sample among the k most likely tokens; 0 = off.");
ABSL_FLAG(int64_t, seed, -1, "generate: sampling seed; -1 = random.");
ABSL_FLAG(std::vector<std::string>, stop, {},
          "generate: comma-separated stop strings (\\n and \\t are unescaped).");
ABSL_FLAG(std::vector<std::string>, stop_token_ids, {},
          "generate: comma-separated token ids that end generation.");
ABSL_FLAG(bool, ignore_eos, false, "generate: keep going past end-of-sequence tokens.");
ABSL_FLAG(int32_t, logprobs, -1,
          "generate: print each token's logprob (0) plus N alternatives (N > 0); -1 = off.");
ABSL_FLAG(std::string, ids, "", "score: comma-separated token ids to score instead of text.");
ABSL_FLAG(std::string, attention, "",
          "generate/score: attention backend of the request, name[:key=value,...] (e.g. "
          "sliding_window:window=512); eval: ';'-separated list of them ('' = the server default).");
ABSL_FLAG(std::string, context_policy, "",
          "generate/score: context policy of the request, kind[:key=value,...] (e.g. "
          "yarn:factor=4,original_max_position_embeddings=256); eval: ';'-separated list ('' = server default).");
ABSL_FLAG(std::string, system, "", "chat: system message at the start of the conversation.");
ABSL_FLAG(std::string, messages_file, "",
          "chat: answer this OpenAI-style messages JSON array once (one-shot) and exit.");
ABSL_FLAG(std::string, text_file, "", "eval: text to measure perplexity on.");
ABSL_FLAG(std::vector<std::string>, lengths, {"256"}, "eval: comma-separated window lengths (tokens).");
ABSL_FLAG(int32_t, max_windows, 8, "eval: windows scored per length.");
ABSL_FLAG(int32_t, concurrency, 2, "eval: Score calls in flight.");
ABSL_FLAG(std::string, json, "",
          "eval: write one JSON object per (attention, context policy, length) to this file.");

namespace {

constexpr char kUsage[] =
    "command-line client for attnserve.\n"
    "  attnserve-cli generate \"<prompt>\" [--max_tokens=N --temperature=T --top_p=P --top_k=K\n"
    "                --seed=S --stop=a,b --stop_token_ids=1,2 --ignore_eos --logprobs=N]\n"
    "  attnserve-cli score \"<text>\"        attnserve-cli score --ids=1,2,3\n"
    "  attnserve-cli tokenize \"<text>\"     attnserve-cli detokenize 1,2,3\n"
    "  attnserve-cli info                   attnserve-cli status\n"
    "  attnserve-cli chat [--system=S]      interactive: turns from stdin, /reset, /exit, Ctrl-C stops a reply\n"
    "  attnserve-cli chat \"<question>\"     attnserve-cli chat --messages_file=F.json   (one-shot)\n"
    "                (chat takes the generate sampling flags; needs a model with a chat template)\n"
    "  attnserve-cli eval --text_file=F [--lengths=256,1024 --attention=\"a;b\" --context_policy=\"none;yarn:factor=4\"\n"
    "                --max_windows=N --json=F]\n"
    "generate/score take --attention=name[:key=value,...] (GetModelInfo lists the backends)\n"
    "and --context_policy=kind[:key=value,...] (none, linear, ntk, dynamic_ntk, yarn, llama3, longrope, sinks)\n"
    "Common flags: --addr=host:port (default localhost:50051) --timeout_s=S";

int Usage(const char* problem) {
  std::fprintf(stderr, "attnserve-cli: %s\n\n%s\n", problem, kUsage);
  return 2;
}

std::shared_ptr<grpc::Channel> Connect(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "clients/cli/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(kUsage);
  bool max_tokens_given = false;  // chat's default differs from generate's
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (absl::StartsWith(arg, "--max_tokens") || absl::StartsWith(arg, "-max_tokens")) max_tokens_given = true;
  }
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() < 2) return Usage("missing command");
  const std::string command = args[1];
  const std::string argument = args.size() > 2 ? args[2] : "";
  if (args.size() > 3) return Usage("too many arguments (quote the text)");

  attnserve::cli::CallOptions call;
  if (const double t = absl::GetFlag(FLAGS_timeout_s); t > 0) {
    call.timeout = std::chrono::milliseconds(static_cast<int64_t>(t * 1000));
  }
  auto stub = attnserve::v1::Inference::NewStub(Connect(absl::GetFlag(FLAGS_addr)));
  attnserve::v1::AttentionConfig attention;
  if (command != "eval" && !absl::GetFlag(FLAGS_attention).empty()) {
    auto parsed = attnserve::cli::ParseAttentionArg(absl::GetFlag(FLAGS_attention));
    if (!parsed.ok()) return Usage(std::string("--attention: " + std::string(parsed.status().message())).c_str());
    attention = *parsed;
  }
  attnserve::v1::ContextPolicy context_policy;
  if (command != "eval" && !absl::GetFlag(FLAGS_context_policy).empty()) {
    auto parsed = attnserve::cli::ParseContextPolicyArg(absl::GetFlag(FLAGS_context_policy));
    if (!parsed.ok()) return Usage(std::string("--context_policy: " + std::string(parsed.status().message())).c_str());
    context_policy = *parsed;
  }

  if (command == "generate" || command == "chat") {
    if (argument.empty() && command == "generate") return Usage("generate needs a prompt");
    attnserve::cli::GenerateOptions options;
    options.max_tokens = absl::GetFlag(FLAGS_max_tokens);
    if (command == "chat" && !max_tokens_given) {
      options.max_tokens = 256;
    }
    options.temperature = absl::GetFlag(FLAGS_temperature);
    options.top_p = absl::GetFlag(FLAGS_top_p);
    options.top_k = absl::GetFlag(FLAGS_top_k);
    if (const int64_t seed = absl::GetFlag(FLAGS_seed); seed >= 0) options.seed = seed;
    for (const std::string& s : absl::GetFlag(FLAGS_stop)) {
      options.stop.push_back(absl::StrReplaceAll(s, {{"\\n", "\n"}, {"\\t", "\t"}}));
    }
    const auto stop_ids =
        attnserve::cli::ParseIds(absl::StrJoin(absl::GetFlag(FLAGS_stop_token_ids), ","));
    if (!stop_ids) return Usage("--stop_token_ids must be comma-separated integers");
    options.stop_token_ids = *stop_ids;
    options.ignore_eos = absl::GetFlag(FLAGS_ignore_eos);
    options.logprobs = absl::GetFlag(FLAGS_logprobs);
    options.attention = attention;
    options.context_policy = context_policy;
    if (command == "chat") {
      attnserve::cli::ChatOptions chat;
      chat.generate = options;
      chat.system = absl::GetFlag(FLAGS_system);
      chat.messages_file = absl::GetFlag(FLAGS_messages_file);
      chat.question = argument;
      return attnserve::cli::Chat(*stub, call, chat);
    }
    return attnserve::cli::Generate(*stub, call, argument, options);
  }
  if (command == "score") {
    const std::string ids_flag = absl::GetFlag(FLAGS_ids);
    if (argument.empty() == ids_flag.empty()) return Usage("score needs a text or --ids (one)");
    const auto ids = attnserve::cli::ParseIds(ids_flag);
    if (!ids) return Usage("--ids must be comma-separated integers");
    return attnserve::cli::Score(*stub, call, argument, *ids, attention, context_policy);
  }
  if (command == "tokenize") return attnserve::cli::Tokenize(*stub, call, argument);
  if (command == "detokenize") {
    const auto ids = attnserve::cli::ParseIds(argument);
    if (!ids) return Usage("detokenize needs comma-separated integer ids");
    return attnserve::cli::Detokenize(*stub, call, *ids);
  }
  if (command == "eval") {
    attnserve::cli::EvalOptions options;
    options.text_file = absl::GetFlag(FLAGS_text_file);
    if (options.text_file.empty()) return Usage("eval needs --text_file");
    options.lengths.clear();
    for (const std::string& l : absl::GetFlag(FLAGS_lengths)) {
      const auto n = attnserve::cli::ParseIds(l);
      if (!n || n->size() != 1) return Usage("--lengths must be comma-separated integers");
      options.lengths.push_back((*n)[0]);
    }
    const std::string list = absl::GetFlag(FLAGS_attention);
    options.attentions = list.empty() ? std::vector<std::string>{""} : attnserve::cli::SplitChoices(list);
    const std::string policies = absl::GetFlag(FLAGS_context_policy);
    options.context_policies =
        policies.empty() ? std::vector<std::string>{""} : attnserve::cli::SplitChoices(policies);
    options.max_windows = absl::GetFlag(FLAGS_max_windows);
    options.concurrency = absl::GetFlag(FLAGS_concurrency);
    options.json_path = absl::GetFlag(FLAGS_json);
    return attnserve::cli::Eval(*stub, call, options);
  }
  if (command == "info") return attnserve::cli::Info(*stub, call);
  if (command == "status") return attnserve::cli::Status(*stub, call);
  return Usage(("unknown command '" + command + "'").c_str());
}

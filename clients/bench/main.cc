// attnserve-bench: serving load generator for an attnserve daemon (vLLM benchmark_serving's
// measurements over the public gRPC API).
//   closed loop: attnserve-bench --concurrency 8 --num_requests 200 --input_len 128 --output_len
//   128 open loop:   attnserve-bench --request_rate 4 [--max_concurrency 16] --num_requests 200
//   soak and fault test: attnserve-bench --soak --soak_duration_s 1800 (soak_command.h)
// Prints a table (throughput; TTFT / TPOT / ITL / E2E mean p50 p90 p99) and, with --json, writes
// the same numbers plus the configuration. Exit 0 when at least one request succeeded, 1 when none
// did or the server is unreachable, 2 on bad flags.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "clients/bench/generate_call.h"
#include "clients/bench/load_driver.h"
#include "clients/bench/openai_stream_call.h"
#include "clients/bench/report.h"
#include "clients/bench/soak_command.h"
#include "clients/bench/workload.h"
#include "grpcpp/grpcpp.h"

ABSL_FLAG(std::string, addr, "localhost:50051", "attnserve gRPC address (host:port).");
ABSL_FLAG(std::string, backend, "grpc",
          "How requests are sent: grpc (Generate streams on --addr) or openai (streaming "
          "/v1/completions on --http_addr; --addr still answers GetModelInfo).");
ABSL_FLAG(std::string, http_addr, "localhost:8000",
          "attnserve OpenAI-compatible HTTP address (host:port) for --backend=openai.");
ABSL_FLAG(uint32_t, num_requests, 100, "Requests to measure.");
ABSL_FLAG(uint32_t, concurrency, 0,
          "Closed loop: keep N requests in flight until --num_requests are done (0 = open loop).");
ABSL_FLAG(double, request_rate, std::numeric_limits<double>::infinity(),
          "Open loop: Poisson arrivals at R requests/s (seeded); inf = all at once.");
ABSL_FLAG(uint32_t, max_concurrency, 0, "Open loop: at most N requests in flight (0 = no cap).");
ABSL_FLAG(uint32_t, input_len, 128, "Random prompt tokens per request (after any shared prefix).");
ABSL_FLAG(std::string, input_len_dist, "",
          "Draw --input_len per request instead: uniform:LO:HI or normal:MEAN:STD.");
ABSL_FLAG(uint32_t, output_len, 128, "Output tokens per request (max_tokens, ignore_eos).");
ABSL_FLAG(std::string, output_len_dist, "",
          "Draw --output_len per request instead: uniform:LO:HI or normal:MEAN:STD.");
ABSL_FLAG(uint32_t, shared_prefix_len, 0,
          "Tokens of a shared prefix in front of each random prompt (prefix caching); 0 = none.");
ABSL_FLAG(uint32_t, num_prefixes, 1, "Distinct shared prefixes; each request uses one at random.");
ABSL_FLAG(std::string, prompt_file, "",
          "Text prompts, one per line (picked at random), instead of random token ids.");
ABSL_FLAG(
    std::string, token_id_range, "",
    "Random prompt ids from LO:HI (HI exclusive); default min(100, V/10):V*9/10 for vocab V.");
ABSL_FLAG(double, temperature, 0.0, "Sampling temperature (0 = greedy).");
ABSL_FLAG(bool, logprobs, false,
          "Ask for each sampled token's logprob (--backend=openai always does, to count tokens; "
          "set it for gRPC too when comparing the two).");
ABSL_FLAG(uint64_t, seed, 0, "Seeds the workload, the arrivals and each request's sampling.");
ABSL_FLAG(uint32_t, warmup, 0, "Requests sent (and waited for) before the measured run.");
ABSL_FLAG(double, timeout_s, 0, "Per-request deadline in seconds; 0 = none.");
ABSL_FLAG(double, wait_ready_s, 10, "How long to wait for the server to answer GetModelInfo.");
ABSL_FLAG(std::string, json, "", "Write the results and configuration as JSON to this file.");
ABSL_FLAG(bool, detailed, false, "With --json: also write one row per request.");

namespace attnserve::bench {
namespace {

constexpr char kUsage[] =
    "serving load generator for attnserve (TTFT, TPOT, ITL, E2E, throughput).\n"
    "  attnserve-bench --concurrency=8 --num_requests=200 --input_len=128 --output_len=128\n"
    "  attnserve-bench --request_rate=4 --max_concurrency=16 --input_len_dist=uniform:64:256\n"
    "  attnserve-bench --shared_prefix_len=1000 --num_prefixes=4 --json=out.json\n"
    "See --help for every flag.";

int Usage(const std::string& problem) {
  std::fprintf(stderr, "attnserve-bench: %s\n\n%s\n", problem.c_str(), kUsage);
  return 2;
}

// A fixed length, or the distribution named by `dist_flag` when it is set.
bool LengthFlag(uint32_t fixed, const std::string& dist_flag, LengthDistribution* out,
                std::string* error) {
  if (dist_flag.empty()) {
    if (fixed == 0) {
      *error = "lengths must be >= 1";
      return false;
    }
    *out = LengthDistribution::Fixed(fixed);
    return true;
  }
  std::optional<LengthDistribution> parsed = LengthDistribution::Parse(dist_flag, error);
  if (parsed) *out = *parsed;
  return parsed.has_value();
}

// Workload options from the flags and the model (vocabulary, special tokens); "" or an error.
std::string MakeWorkloadOptions(const v1::ModelInfo& info, WorkloadOptions* options) {
  std::string error;
  if (!LengthFlag(absl::GetFlag(FLAGS_input_len), absl::GetFlag(FLAGS_input_len_dist),
                  &options->input_len, &error) ||
      !LengthFlag(absl::GetFlag(FLAGS_output_len), absl::GetFlag(FLAGS_output_len_dist),
                  &options->output_len, &error)) {
    return error;
  }
  options->shared_prefix_len = absl::GetFlag(FLAGS_shared_prefix_len);
  options->num_prefixes = absl::GetFlag(FLAGS_num_prefixes);
  if (options->num_prefixes == 0) return "--num_prefixes must be >= 1";
  options->temperature = static_cast<float>(absl::GetFlag(FLAGS_temperature));
  options->logprobs = absl::GetFlag(FLAGS_logprobs);
  options->seed = absl::GetFlag(FLAGS_seed);
  if (const std::string path = absl::GetFlag(FLAGS_prompt_file); !path.empty()) {
    if (options->shared_prefix_len > 0)
      return "--prompt_file and --shared_prefix_len exclude each other";
    auto lines = ReadPromptLines(path);
    if (!lines) return "cannot read --prompt_file " + path;
    if (lines->empty()) return "--prompt_file " + path + " has no non-empty line";
    options->prompt_lines = *std::move(lines);
  }
  SetDefaultTokenIdRange(info.vocab_size(), options);
  if (const std::string range = absl::GetFlag(FLAGS_token_id_range); !range.empty()) {
    const std::vector<std::string> parts = absl::StrSplit(range, ':');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &options->token_id_low) ||
        !absl::SimpleAtoi(parts[1], &options->token_id_high) || options->token_id_low < 0 ||
        options->token_id_high <= options->token_id_low ||
        options->token_id_high > static_cast<int32_t>(info.vocab_size())) {
      return "--token_id_range must be LO:HI with 0 <= LO < HI <= vocab_size";
    }
  }
  if (info.bos_token_id() >= 0) options->excluded_ids.push_back(info.bos_token_id());
  for (int32_t id : info.eos_token_ids()) options->excluded_ids.push_back(id);
  return "";
}

// Load options from the flags; "" or an error.
std::string MakeLoadOptions(LoadOptions* options) {
  const uint32_t concurrency = absl::GetFlag(FLAGS_concurrency);
  options->request_rate = absl::GetFlag(FLAGS_request_rate);
  options->max_concurrency = absl::GetFlag(FLAGS_max_concurrency);
  options->seed = absl::GetFlag(FLAGS_seed);
  if (!(options->request_rate > 0)) return "--request_rate must be > 0 (or inf)";
  if (concurrency > 0) {
    if (std::isfinite(options->request_rate)) {
      return "--concurrency (closed loop) and a finite --request_rate (open loop) exclude each "
             "other";
    }
    if (options->max_concurrency != 0 && options->max_concurrency != concurrency) {
      return "--concurrency and --max_concurrency disagree";
    }
    options->max_concurrency = concurrency;
  }
  if (const double t = absl::GetFlag(FLAGS_timeout_s); t > 0) {
    options->timeout = std::chrono::milliseconds(static_cast<int64_t>(t * 1000));
  }
  return "";
}

// Every random-id request must fit the model's context.
std::string CheckContext(const std::vector<v1::GenerateRequest>& requests, uint32_t max_context) {
  for (const v1::GenerateRequest& r : requests) {
    const uint64_t needed = static_cast<uint64_t>(r.prompt_token_ids_size()) + r.max_tokens();
    if (max_context > 0 && needed > max_context) {
      return "a request needs " + std::to_string(needed) +
             " tokens (prompt + output) but the model's context is " + std::to_string(max_context);
    }
  }
  return "";
}

nlohmann::json ConfigJson(const WorkloadOptions& workload, const LoadOptions& load,
                          const v1::ModelInfo& info) {
  const double rate = load.request_rate;
  return {
      {"addr", absl::GetFlag(FLAGS_addr)},
      {"model", info.served_model_name()},
      {"architecture", info.architecture()},
      {"mode", absl::GetFlag(FLAGS_concurrency) > 0 ? "closed_loop" : "open_loop"},
      {"num_requests", absl::GetFlag(FLAGS_num_requests)},
      {"concurrency", absl::GetFlag(FLAGS_concurrency)},
      {"request_rate", std::isfinite(rate) ? nlohmann::json(rate) : nlohmann::json("inf")},
      {"max_concurrency", load.max_concurrency},
      {"input_len", workload.prompt_lines.empty() ? workload.input_len.ToString() : "file"},
      {"output_len", workload.output_len.ToString()},
      {"shared_prefix_len", workload.shared_prefix_len},
      {"num_prefixes", workload.num_prefixes},
      {"prompt_file", absl::GetFlag(FLAGS_prompt_file)},
      {"token_id_range", {workload.token_id_low, workload.token_id_high}},
      {"temperature", absl::GetFlag(FLAGS_temperature)},
      {"logprobs", workload.logprobs},
      {"backend", absl::GetFlag(FLAGS_backend)},
      {"seed", workload.seed},
      {"warmup", absl::GetFlag(FLAGS_warmup)},
      {"timeout_s", absl::GetFlag(FLAGS_timeout_s)},
  };
}

int Run() {
  WorkloadOptions workload;
  LoadOptions load;
  if (std::string error = MakeLoadOptions(&load); !error.empty()) return Usage(error);
  const uint32_t num_requests = absl::GetFlag(FLAGS_num_requests);
  if (num_requests == 0) return Usage("--num_requests must be >= 1");

  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(-1);
  auto channel = grpc::CreateCustomChannel(absl::GetFlag(FLAGS_addr),
                                           grpc::InsecureChannelCredentials(), args);
  auto stub = v1::Inference::NewStub(channel);
  v1::ModelInfo info;
  {
    grpc::ClientContext context;
    context.set_wait_for_ready(true);
    context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::milliseconds(static_cast<int64_t>(absl::GetFlag(FLAGS_wait_ready_s) * 1000)));
    const grpc::Status status = stub->GetModelInfo(&context, v1::GetModelInfoRequest(), &info);
    if (!status.ok()) {
      std::fprintf(stderr, "attnserve-bench: GetModelInfo on %s: %s: %s (is the daemon up?)\n",
                   absl::GetFlag(FLAGS_addr).c_str(), StatusCodeName(status.error_code()).c_str(),
                   status.error_message().c_str());
      return 1;
    }
  }
  if (std::string error = MakeWorkloadOptions(info, &workload); !error.empty()) return Usage(error);
  const std::string backend = absl::GetFlag(FLAGS_backend);
  std::unique_ptr<OpenAiStreamClient> http;
  CallStarter start;
  if (backend == "grpc") {
    start = [&](const v1::GenerateRequest& request, RequestRecord* record, std::function<void()> done) {
      GenerateCall::Start(*stub, request, load.timeout, record, std::move(done));
    };
  } else if (backend == "openai") {
    const std::string http_addr = absl::GetFlag(FLAGS_http_addr);
    const size_t colon = http_addr.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == http_addr.size()) {
      return Usage("--http_addr must be host:port, got '" + http_addr + "'");
    }
    http = std::make_unique<OpenAiStreamClient>(http_addr.substr(0, colon), http_addr.substr(colon + 1),
                                                info.served_model_name(), "");
    start = [&](const v1::GenerateRequest& request, RequestRecord* record, std::function<void()> done) {
      http->Start(request, load.timeout, record, std::move(done));
    };
  } else {
    return Usage("--backend must be grpc or openai, got '" + backend + "'");
  }
  const std::vector<v1::GenerateRequest> requests = BuildWorkload(workload, num_requests, "bench-");
  if (std::string error = CheckContext(requests, info.max_context()); !error.empty()) {
    return Usage(error);
  }

  if (const uint32_t warmup = absl::GetFlag(FLAGS_warmup); warmup > 0) {
    WorkloadOptions warmup_workload = workload;
    warmup_workload.seed = workload.seed ^ 0x9e3779b97f4a7c15ULL;  // different prompts
    const auto warmup_requests = BuildWorkload(warmup_workload, warmup, "bench-warmup-");
    LoadOptions warmup_load = load;
    warmup_load.request_rate = std::numeric_limits<double>::infinity();
    std::fprintf(stderr, "attnserve-bench: %u warm-up requests...\n", warmup);
    const BenchReport warm =
        MakeReport(RunLoad(start, warmup_requests, warmup_load), warmup_requests);
    if (warm.num_failed > 0) {
      std::fprintf(stderr, "attnserve-bench: %u warm-up requests failed\n", warm.num_failed);
    }
  }

  std::fprintf(stderr, "attnserve-bench: %u requests to %s over %s (%s)...\n", num_requests,
               (backend == "grpc" ? absl::GetFlag(FLAGS_addr) : absl::GetFlag(FLAGS_http_addr)).c_str(),
               backend.c_str(), info.served_model_name().c_str());
  const RunResult run = RunLoad(start, requests, load);
  const BenchReport report = MakeReport(run, requests);
  std::fputs(FormatTable(report, absl::GetFlag(FLAGS_concurrency) == 0).c_str(), stdout);
  std::fflush(stdout);
  for (const RequestRecord& r : run.records) {
    if (!r.ok()) {  // one example error per run is enough to diagnose
      std::fprintf(stderr, "attnserve-bench: e.g. %s: %s\n",
                   StatusCodeName(r.status.error_code()).c_str(), r.status.error_message().c_str());
      break;
    }
  }

  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    nlohmann::json j = ToJson(report, ConfigJson(workload, load, info));
    if (absl::GetFlag(FLAGS_detailed)) j["requests"] = RecordsJson(run);
    std::ofstream out(path);
    out << j.dump(2) << "\n";
    if (!out) {
      std::fprintf(stderr, "attnserve-bench: cannot write %s\n", path.c_str());
      return 1;
    }
  }
  return report.num_ok > 0 ? 0 : 1;
}

}  // namespace
}  // namespace attnserve::bench

int main(int argc, char** argv) {
  absl::FlagsUsageConfig usage_config;
  usage_config.contains_help_flags = [](absl::string_view file) {
    return absl::StrContains(file, "clients/bench/");
  };
  usage_config.contains_helpshort_flags = usage_config.contains_help_flags;
  absl::SetFlagsUsageConfig(usage_config);
  absl::SetProgramUsageMessage(attnserve::bench::kUsage);
  const std::vector<char*> args = absl::ParseCommandLine(argc, argv);
  if (args.size() > 1)
    return attnserve::bench::Usage("unexpected argument '" + std::string(args[1]) + "'");
  if (attnserve::bench::SoakRequested()) {
    return attnserve::bench::RunSoakCommand(absl::GetFlag(FLAGS_addr), absl::GetFlag(FLAGS_seed),
                                            absl::GetFlag(FLAGS_json));
  }
  return attnserve::bench::Run();
}

// Workload construction (see workload.h).
#include "clients/bench/workload.h"

#include <algorithm>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace attnserve::bench {
namespace {

class RandomIds {
 public:
  explicit RandomIds(const WorkloadOptions& options)
      : dist_(options.token_id_low, std::max(options.token_id_low, options.token_id_high - 1)),
        excluded_(options.excluded_ids) {}

  void Append(std::mt19937_64& rng, uint32_t count, std::vector<int32_t>* out) {
    for (uint32_t i = 0; i < count; ++i) {
      int32_t id = dist_(rng);
      // Excluded ids are few; redraw a bounded number of times, then step past them.
      for (int tries = 0; tries < 8 && IsExcluded(id); ++tries) id = dist_(rng);
      while (IsExcluded(id)) ++id;
      out->push_back(id);
    }
  }

 private:
  bool IsExcluded(int32_t id) const {
    return std::find(excluded_.begin(), excluded_.end(), id) != excluded_.end();
  }
  std::uniform_int_distribution<int32_t> dist_;
  std::vector<int32_t> excluded_;
};

}  // namespace

void SetDefaultTokenIdRange(uint32_t vocab_size, WorkloadOptions* options) {
  options->token_id_low = static_cast<int32_t>(std::min<uint32_t>(100, vocab_size / 10));
  options->token_id_high =
      std::max(options->token_id_low + 1, static_cast<int32_t>(vocab_size / 10 * 9));
}

std::vector<v1::GenerateRequest> BuildWorkload(const WorkloadOptions& options, size_t count,
                                               const std::string& id_prefix) {
  std::mt19937_64 rng(options.seed);
  RandomIds ids(options);
  std::vector<std::vector<int32_t>> prefixes(options.shared_prefix_len > 0 ? options.num_prefixes
                                                                           : 0);
  for (std::vector<int32_t>& prefix : prefixes) ids.Append(rng, options.shared_prefix_len, &prefix);

  std::vector<v1::GenerateRequest> requests(count);
  for (size_t i = 0; i < count; ++i) {
    v1::GenerateRequest& request = requests[i];
    request.set_request_id(absl::StrCat(id_prefix, i));
    if (!options.prompt_lines.empty()) {
      std::uniform_int_distribution<size_t> pick(0, options.prompt_lines.size() - 1);
      request.set_prompt(options.prompt_lines[pick(rng)]);
    } else {
      std::vector<int32_t> prompt;
      if (!prefixes.empty()) {
        std::uniform_int_distribution<size_t> pick(0, prefixes.size() - 1);
        prompt = prefixes[pick(rng)];
      }
      ids.Append(rng, options.input_len.Sample(rng), &prompt);
      request.mutable_prompt_token_ids()->Assign(prompt.begin(), prompt.end());
    }
    request.set_max_tokens(options.output_len.Sample(rng));
    request.set_ignore_eos(true);
    request.mutable_sampling()->set_temperature(options.temperature);
    request.set_logprobs(options.logprobs);
    request.mutable_sampling()->set_seed(options.seed + i);
  }
  return requests;
}

std::optional<std::vector<std::string>> ReadPromptLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    lines.push_back(absl::StrReplaceAll(line, {{"\\n", "\n"}}));
  }
  return lines;
}

}  // namespace attnserve::bench

// attnserve-bench-decode: single-stream decode speed of a model directory as a fraction of the
// memory-bandwidth roofline (docs/benchmarks.md), with the bandwidth measured in the same run.
//   roofline tokens/s = measured read bandwidth / bytes read per decode step
//   bytes per step    = the weights at their dtype (all layers + lm_head; --weight_dtype)
//                       + the KV cache read by attention
//                       + the recurrent states read and written by Mamba layers
// Also reports prefill throughput in GFLOP/s (2 · params · tokens).
//
//   attnserve-bench-decode --model models/tiny-llama --prompt_tokens 32 --decode_tokens 128
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/fma_peak.h"
#include "bench/memory_bandwidth.h"
#include "engine/attention/attention_registry.h"
#include "engine/model/decoder_model.h"
#include "engine/loader/weight_store.h"
#include "engine/config/model_config.h"
#include "engine/model/model_source.h"
#include "kernels/backend_registry.h"

ABSL_FLAG(std::string, model, ATTNSERVE_DEFAULT_MODEL_DIR, "model directory or .gguf file");
ABSL_FLAG(int, prompt_tokens, 32, "prompt length before decoding");
ABSL_FLAG(int, decode_tokens, 128, "tokens decoded (timed)");
ABSL_FLAG(int, num_threads, 0, "compute threads (0 = all cores)");
ABSL_FLAG(int, repeats, 3, "timed repetitions; the best is reported");
ABSL_FLAG(std::string, attention, "",
          "attention backend as in the server's --attention (name[:key=value,...]); empty = the model's");
ABSL_FLAG(std::string, json, "", "append one JSON line with the results to this file");
ABSL_FLAG(std::string, weight_dtype, "",
          "weight matrices' dtype: f32, bf16, f16, q8_0, q4_0, q4_1, q5_0, q5_1; empty = the file's (as the server's flag)");
ABSL_FLAG(bool, quantize_activations, true, "block-format decode with int8 activations (as the server's flag)");
ABSL_FLAG(std::string, device, "cpu", "compute backend (as the server's --device)");
ABSL_FLAG(int, batch, 1, "sequences decoded together in each step (continuous-batching decode)");

namespace {

// Resident set size of this process (VmRSS), bytes; 0 when /proc is not readable.
double ResidentBytes() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  double kb = 0;
  while (std::fgets(line, sizeof(line), f)) {
    if (std::sscanf(line, "VmRSS: %lf kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb * 1024.0;
}

using Clock = std::chrono::steady_clock;
double Since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  using namespace attnserve;
  const std::string dir = absl::GetFlag(FLAGS_model);
  absl::StatusOr<ModelSource> source = OpenModelSource(dir, /*with_tokenizer=*/false);
  if (!source.ok()) { std::fprintf(stderr, "%s\n", source.status().ToString().c_str()); return 1; }
  const ModelConfig* config = &source->config;
  const std::unique_ptr<WeightStore>& weights = source->weights;
  std::optional<DType> weight_dtype;
  if (const std::string d = absl::GetFlag(FLAGS_weight_dtype); !d.empty()) {
    weight_dtype = ParseDType(d);
    if (!weight_dtype) { std::fprintf(stderr, "--weight_dtype=%s: unknown dtype\n", d.c_str()); return 1; }
  }
  auto model = DecoderModel::Load(*config, *weights, weight_dtype);
  if (!model.ok()) { std::fprintf(stderr, "%s\n", model.status().ToString().c_str()); return 1; }
  std::unique_ptr<Backend> backend = MakeBackend(absl::GetFlag(FLAGS_device),
                                                       {absl::GetFlag(FLAGS_num_threads), absl::GetFlag(FLAGS_quantize_activations)})
                                               .value();
  auto choice = ParseAttentionChoice(absl::GetFlag(FLAGS_attention));
  if (!choice.ok()) { std::fprintf(stderr, "--attention: %s\n", choice.status().ToString().c_str()); return 1; }
  auto plan = ResolveAttention(*choice, {&*config, 16, 0});
  if (!plan.ok()) { std::fprintf(stderr, "--attention: %s\n", plan.status().ToString().c_str()); return 1; }
  const AttentionPlan* attention = plan->get();

  const int P = absl::GetFlag(FLAGS_prompt_tokens), N = absl::GetFlag(FLAGS_decode_tokens);
  const int64_t vocab = config->vocab_size;
  std::vector<int32_t> tokens(P + N);
  for (int i = 0; i < P + N; ++i) tokens[i] = (i * 7919 + 13) % vocab;
  const double rss_loaded = ResidentBytes();  // before the bandwidth buffer is touched
  const double bandwidth = bench::MeasureReadBandwidthGBs(omp_get_max_threads(), 10);
  const double fma_peak = bench::MeasureFmaPeakGflops(omp_get_max_threads(), 5);

  double best_prefill = 1e30, best_decode = 1e30;
  std::vector<float> logits;
  const int B = absl::GetFlag(FLAGS_batch);
  for (int rep = 0; rep < absl::GetFlag(FLAGS_repeats); ++rep) {
    // Sequence s owns blocks [s * blocks_per_seq, (s + 1) * blocks_per_seq) of one pool.
    const int64_t block_size = 16, blocks_per_seq = (P + N + block_size - 1) / block_size;
    PagedKvPool kv(config->num_attention_layers(), blocks_per_seq * B, block_size, config->kv_dim());
    std::vector<std::vector<int32_t>> tables(B, std::vector<int32_t>(blocks_per_seq));
    for (int s = 0; s < B; ++s)
      for (int64_t b = 0; b < blocks_per_seq; ++b) tables[s][b] = static_cast<int32_t>(s * blocks_per_seq + b);
    std::vector<std::vector<float>> states(B), ssm_states(B);
    for (int s = 0; s < B; ++s) {
      ssm_states[s].assign(config->ssm_state_floats(), 0.0f);
      states[s].assign(attention->state_floats, 0.0f);
      for (const LayerAttention& a : attention->layers)
        if (a.kind == LayerAttention::Kind::kLinear)
          LinearStateInit(states[s].data() + a.state_offset, config->num_key_value_heads, a.num_features, config->head_dim);
    }
    for (int s = 0; s < B; ++s) {
      ForwardChunk prefill{tokens.data(), 0, P, tables[s].data(), false, true, attention, states[s].data(),
                           ssm_states[s].data()};
      auto t = Clock::now();
      (*model)->Forward({&prefill, 1}, kv, *backend, logits);
      if (s == 0) best_prefill = std::min(best_prefill, Since(t));
    }
    auto t = Clock::now();
    std::vector<ForwardChunk> step(B);
    for (int i = 0; i < N; ++i) {
      for (int s = 0; s < B; ++s)
        step[s] = {tokens.data() + P + i, P + i, 1, tables[s].data(), false, true, attention, states[s].data(),
                   ssm_states[s].data()};
      (*model)->Forward(step, kv, *backend, logits);
    }
    best_decode = std::min(best_decode, Since(t));
  }
  const uint64_t params = (*model)->num_parameters();
  // lm_head shares the embedding when tied, but both are read per step only as lm_head;
  // the embedding read is one row. Bytes per step: every matrix once + mean KV length read.
  const bool tied = config->tie_word_embeddings && !weights->Has("lm_head.weight");
  const double weight_bytes = double((*model)->parameter_bytes()) - (tied ? 0.0 : double((*model)->embedding_bytes()));
  const double mean_ctx = P + N / 2.0;
  const double kv_bytes = 2.0 * 4.0 * config->num_attention_layers() * config->kv_dim() * mean_ctx * B;
  const double state_bytes = 4.0 * config->ssm_state_floats() * B;  // read once, written once
  const double bytes_per_step = weight_bytes + kv_bytes + 2.0 * state_bytes;
  // Memory one sequence holds at the end: its KV (attention layers) + its recurrent state.
  const double seq_bytes = 2.0 * 4.0 * config->num_attention_layers() * config->kv_dim() * (P + N) +
                           4.0 * config->ssm_state_floats();
  const double tok_s = double(N) * B / best_decode;
  // Bandwidth roofline of a step (all B sequences share one read of the weights), and the FMA
  // roofline (2 FLOP per weight per token) — whichever is lower bounds tokens/s.
  const double roofline = B * bandwidth * 1e9 / bytes_per_step;
  // Prefill FLOPs: every decoder-layer projection for all P tokens, lm_head for the last one,
  // and causal attention (QK^T and PV over P(P+1)/2 query-key pairs per head).
  const double embed = double(vocab) * config->hidden_size;
  const double lm_head = embed;  // same shape whether tied or not
  int64_t num_norms = 1;
  for (const LayerSpec& l : config->layers) num_norms += l.mlp == LayerSpec::Mlp::kNone ? 1 : 2;
  const double norms = double(config->hidden_size) * num_norms;
  const double layer_linear = params - embed - (config->tie_word_embeddings ? 0 : lm_head) - norms;
  const double attn_flops = 4.0 * config->num_attention_layers() * config->q_dim() * P * (P + 1) / 2.0;
  const double prefill_flops = 2.0 * layer_linear * P + 2.0 * lm_head + attn_flops;
  const double prefill_gflops = prefill_flops / best_prefill / 1e9;
  std::printf("model            %s\n", dir.c_str());
  std::printf("parameters       %.1f M, matrices in %s (weights read per step: %.1f MB, KV: %.2f MB)\n",
              params / 1e6, (*model)->matrix_dtype().c_str(), weight_bytes / 1e6, kv_bytes / 1e6);
  std::printf("threads          %d, batch %d\n", omp_get_max_threads(), B);
  std::printf("resident         %.1f MB after load; parameters at their dtype %.1f MB (ratio %.2f)\n",
              rss_loaded / 1e6, double((*model)->parameter_bytes()) / 1e6,
              rss_loaded / double((*model)->parameter_bytes()));
  std::printf("memory/sequence  %.2f MB at %d tokens (KV %.2f MB + recurrent state %.2f MB)\n", seq_bytes / 1e6, P + N,
              (seq_bytes - 4.0 * config->ssm_state_floats()) / 1e6, 4.0 * config->ssm_state_floats() / 1e6);
  std::printf("read bandwidth   %.1f GB/s (measured now)\n", bandwidth);
  std::printf("FMA peak         %.1f GFLOP/s (measured now)\n", fma_peak);
  std::printf("prefill          %d tokens in %.2f ms: %.0f tokens/s, %.1f GFLOP/s, fraction of FMA peak %.2f\n", P,
              best_prefill * 1e3, P / best_prefill, prefill_gflops, prefill_gflops / fma_peak);
  std::printf("decode           %.1f tokens/s (%.2f ms/token), %.1f GB/s; roofline %.1f tokens/s; "
              "fraction %.2f\n", tok_s, 1e3 / tok_s, bytes_per_step * tok_s / B / 1e9, roofline, tok_s / roofline);
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    if (FILE* f = std::fopen(path.c_str(), "a")) {
      std::fprintf(f,
                   "{\"model\": \"%s\", \"attention\": \"%s\", \"prompt_tokens\": %d, \"decode_tokens\": %d, "
                   "\"batch\": %d, \"threads\": %d, \"prefill_s\": %.6f, \"decode_ms_per_token\": %.4f, "
                   "\"decode_roofline_fraction\": %.4f, \"bandwidth_gbs\": %.2f, \"architecture\": \"%s\", "
                   "\"parameters\": %llu, \"memory_per_sequence_bytes\": %.0f, \"weight_dtype\": \"%s\", "
                   "\"decode_tokens_per_s\": %.2f, \"prefill_tokens_per_s\": %.1f, \"prefill_fma_fraction\": %.4f, "
                   "\"weight_bytes_per_step\": %.0f, \"resident_bytes_after_load\": %.0f, \"parameter_bytes\": %llu}\n",
                   dir.c_str(), attention->description.c_str(), P, N, B, omp_get_max_threads(), best_prefill,
                   1e3 / tok_s, tok_s / roofline, bandwidth, config->architecture.c_str(),
                   static_cast<unsigned long long>(params), seq_bytes, (*model)->matrix_dtype().c_str(), tok_s,
                   P / best_prefill, prefill_gflops / fma_peak, weight_bytes, rss_loaded,
                   static_cast<unsigned long long>((*model)->parameter_bytes()));
      std::fclose(f);
    }
  }
  return 0;
}

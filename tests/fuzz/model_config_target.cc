// Fuzz target: config.json text through ModelConfig::FromJson, the one parser of every model
// family (Llama / Mistral / Qwen2, Mixtral / Qwen2-MoE, Mamba / Mamba-2 / Jamba in
// engine/config/ssm_model_config, BLOOM in engine/config/bloom_model_config; GGUF metadata is
// turned into the same JSON). A parsed config then goes through what the engine derives from it at
// load: the per-layer counts, the recurrent-state layout and the deployment's default plans
// (RequestPlanner).
#include <algorithm>
#include <string>

#include "engine/request/request_plans.h"
#include "tests/fuzz/fuzz_fixture.h"
#include "tests/fuzz/fuzz_targets.h"

namespace attnserve::fuzz {

int FuzzModelConfig(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ModelConfig> config = ModelConfig::FromJson(text, "fuzz/config.json");
  if (!Note("ModelConfig::FromJson", config)) return 0;
  const ModelConfig& c = *config;
  uint64_t sum = static_cast<uint64_t>(c.num_attention_layers()) + (c.has_attention() ? 1 : 0) +
                 (c.has_ssm() ? 1 : 0);
  if (c.has_attention()) sum += static_cast<uint64_t>(c.q_dim()) + static_cast<uint64_t>(c.kv_dim());
  if (c.has_ssm()) {
    sum += static_cast<uint64_t>(c.ssm_state_floats());
    sum += static_cast<uint64_t>(c.ssm_state_offset(static_cast<int64_t>(c.layers.size()) - 1));
  }
  // The engine's default plans for a short request (Engine::Load: max_model_len from the config).
  const int64_t max_model_len = std::min<int64_t>(c.max_position_embeddings, 4096);
  absl::StatusOr<RequestPlanner> planner =
      RequestPlanner::Create(&c, AttentionChoice{}, ContextPolicyChoice{}, 16, max_model_len);
  if (Note("RequestPlanner::Create", planner)) {
    const int64_t total = std::min<int64_t>(max_model_len, 24);
    absl::StatusOr<RequestPlans> plans =
        planner->Resolve(AttentionChoice{}, ContextPolicyChoice{}, std::min<int64_t>(total, 8), total);
    if (Note("RequestPlanner::Resolve", plans)) sum += plans->context->kind.size();
  }
  volatile uint64_t keep = sum;
  (void)keep;
  return 0;
}

}  // namespace attnserve::fuzz

// Folder engine/attention/: attention backends as data — the registry table, a request's choice,
// the per-layer plan and the layer call into kernels/. Includes engine/config/, scheduler/,
// kernels/.
//
// The attention backend registry (docs/architecture.md): ONE table of every attention backend —
// name, family, memory kind, parameters with defaults and ranges, complexity — and the resolution
// of an AttentionChoice against a model into a per-layer AttentionPlan. No hidden registration:
// adding a backend is one entry in attention_registry.cc's table.
//
// Semantics of a choice (request `attention` field or --attention flag):
//   * backend "" and no parameters: the model's own attention (config.json: full, or sliding
//     window for the layers its layer_types / sliding_window / max_window_layers say).
//   * backend B: every layer runs B — except, with full_every = k, layers l where (l+1) % k == 0,
//     which keep the model's own attention (a static sparse layer schedule, Gemma-style).
//   * ALiBi models (BLOOM): every softmax backend adds the bias to its logits (Quest selects
//     blocks by q·k bounds, then attends with the bias); linear backends (performer,
//     elu_linear) form no logits to bias and are INVALID_ARGUMENT.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/attention/attention_choice.h"
#include "engine/attention/attention_plan.h"
#include "engine/config/model_config.h"

namespace attnserve {

struct AttentionParamSpec {
  std::string_view name;   // AttentionChoice field name
  int64_t default_value;
  int64_t min_value, max_value;
};

struct AttentionBackendInfo {
  std::string_view name;
  std::string_view family;       // full, sparse, dynamic, memory, linear
  MemoryKind memory;
  std::string_view description;
  std::string_view complexity;   // "prefill / per-token decode", n = context length
  std::vector<AttentionParamSpec> params;
};

// The registry table, in a fixed order.
const std::vector<AttentionBackendInfo>& AttentionBackends();

struct AttentionResolveContext {
  const ModelConfig* config = nullptr;
  int64_t kv_block_size = 16;  // the paged pool's block size (Quest selects whole blocks)
  int64_t prompt_len = 0;      // > 0: request-time checks against the prompt (global tokens)
};

// Validates `choice` (INVALID_ARGUMENT naming attention.<field>: unknown backend, parameter not
// taken by the backend, value out of range, global tokens outside the prompt) and builds the plan.
absl::StatusOr<std::shared_ptr<const AttentionPlan>> ResolveAttention(
    const AttentionChoice& choice, const AttentionResolveContext& context);

}  // namespace attnserve

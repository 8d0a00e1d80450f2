// The attention backend table and choice -> per-layer plan resolution (see attention_registry.h).
#include "engine/attention/attention_registry.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scheduler/prefix_hash.h"

namespace attnserve {
namespace {

constexpr int64_t kMaxTokens = int64_t{1} << 24;

const AttentionBackendInfo* FindBackend(std::string_view name) {
  for (const AttentionBackendInfo& b : AttentionBackends())
    if (b.name == name) return &b;
  return nullptr;
}

std::optional<int64_t>* IntField(AttentionChoice& c, std::string_view name) {
  if (name == "window") return &c.window;
  if (name == "sink_tokens") return &c.sink_tokens;
  if (name == "segment_length") return &c.segment_length;
  if (name == "memory_segments") return &c.memory_segments;
  if (name == "global_tokens") return &c.global_tokens;
  if (name == "block_size") return &c.block_size;
  if (name == "window_blocks") return &c.window_blocks;
  if (name == "global_blocks") return &c.global_blocks;
  if (name == "random_blocks") return &c.random_blocks;
  if (name == "top_k_blocks") return &c.top_k_blocks;
  if (name == "num_features") return &c.num_features;
  if (name == "full_every") return &c.full_every;
  return nullptr;
}

// Layer l when it is not an attention layer (a state-space mixer).
LayerAttention NonAttentionLayer(const ModelConfig& config, int64_t l) {
  LayerAttention a;
  a.kind = LayerAttention::Kind::kNone;
  a.backend = config.layers[l].mixer == LayerSpec::Mixer::kMamba2 ? "mamba2" : "mamba";
  a.memory = MemoryKind::kRecurrentState;
  return a;
}

// The model's own attention for layer l (config.json).
LayerAttention ModelOwnAttention(const ModelConfig& config, int64_t l) {
  if (config.layers[l].mixer != LayerSpec::Mixer::kAttention) return NonAttentionLayer(config, l);
  LayerAttention a;
  const int64_t window = config.layers[l].sliding_window;
  if (window > 0) {
    a.backend = "sliding_window";
    a.memory = MemoryKind::kWindowedKv;
    a.mask.kind = MaskKind::kSlidingWindow;
    a.mask.window = window;
  }
  return a;
}

// Fills defaults into `filled` and checks ranges and applicability. Errors name the field.
absl::Status FillParameters(const AttentionBackendInfo& b, const AttentionChoice& choice,
                            int64_t num_layers, AttentionChoice& filled) {
  filled = choice;
  for (const std::string& name : SetParameterNames(choice)) {
    if (name == "full_every") continue;
    const bool takes = name == "global_positions"
                           ? b.name == "longformer"
                           : std::any_of(b.params.begin(), b.params.end(),
                                         [&](const AttentionParamSpec& p) { return p.name == name; });
    if (!takes) {
      std::vector<std::string> names;
      for (const AttentionParamSpec& p : b.params) names.emplace_back(p.name);
      return absl::InvalidArgumentError(absl::StrCat(
          "attention.", name, " does not apply to backend ", std::string(b.name), " (it takes: ",
          names.empty() ? "no parameters" : absl::StrJoin(names, ", "), ")"));
    }
  }
  for (const AttentionParamSpec& p : b.params) {
    if (p.name == "seed") {
      if (!filled.seed) filled.seed = static_cast<uint64_t>(p.default_value);
      continue;
    }
    std::optional<int64_t>& v = *IntField(filled, p.name);
    if (!v) v = p.default_value;
    if (*v < p.min_value || *v > p.max_value) {
      return absl::InvalidArgumentError(absl::StrCat("attention.", std::string(p.name), " must be in [",
                                                     p.min_value, ", ", p.max_value, "], got ", *v));
    }
  }
  if (choice.full_every && (*choice.full_every < 1 || *choice.full_every > num_layers)) {
    return absl::InvalidArgumentError(absl::StrCat("attention.full_every must be in [1, ",
                                                   num_layers, "] (the number of layers), got ",
                                                   *choice.full_every));
  }
  return absl::OkStatus();
}

// The layer attention `filled` asks for (ranges already checked); layer l seeds random parts.
LayerAttention BuildLayer(const AttentionBackendInfo& b, const AttentionChoice& f,
                          const ModelConfig& config, int64_t l) {
  LayerAttention a;
  a.backend = std::string(b.name);
  a.memory = b.memory;
  AttentionMask& m = a.mask;
  const uint64_t layer_seed = f.seed.value_or(0) ^ MixHash(static_cast<uint64_t>(l) + 1);
  if (b.name == "sliding_window") {
    m.kind = MaskKind::kSlidingWindow;
    m.window = *f.window;
  } else if (b.name == "sinks") {
    m.kind = MaskKind::kSinks;
    m.sink_tokens = *f.sink_tokens;
    m.window = *f.window;
  } else if (b.name == "transformer_xl") {
    m.kind = MaskKind::kSegments;
    m.segment_length = *f.segment_length;
    m.memory_segments = *f.memory_segments;
  } else if (b.name == "longformer") {
    m.kind = MaskKind::kLongformer;
    m.window = *f.window;  // global positions are attached by ResolveAttention
  } else if (b.name == "bigbird") {
    m.kind = MaskKind::kBigBird;
    m.block = *f.block_size;
    m.window_blocks = *f.window_blocks;
    m.global_blocks = *f.global_blocks;
    m.random_blocks = *f.random_blocks;
    m.seed = layer_seed;
  } else if (b.name == "quest") {
    a.kind = LayerAttention::Kind::kQuest;
    a.quest_top_k = *f.top_k_blocks;
    a.quest_window = *f.window;
  } else if (b.name == "performer" || b.name == "elu_linear") {
    a.kind = LayerAttention::Kind::kLinear;
    if (b.name == "performer") {
      a.feature_map = FeatureMap::kFavorPositive;
      a.num_features = *f.num_features;
      a.projection.resize(a.num_features * config.head_dim);
      MakeFavorProjection(a.num_features, config.head_dim, layer_seed, a.projection.data());
    } else {
      a.feature_map = FeatureMap::kEluPlusOne;
      a.num_features = config.head_dim;
    }
  }
  return a;
}

KvRetention Retention(const AttentionPlan& plan) {
  KvRetention r;
  bool any_kv = false, all_bounded = true, any_linear = false;
  for (const LayerAttention& a : plan.layers) {
    if (a.kind == LayerAttention::Kind::kLinear || a.kind == LayerAttention::Kind::kNone) {
      any_linear = true;  // a recurrent state: not rebuilt from cached blocks
      continue;
    }
    any_kv = true;
    const MaskKind k = a.mask.kind;
    const bool bounded = a.kind == LayerAttention::Kind::kSoftmax &&
                         (k == MaskKind::kSlidingWindow || k == MaskKind::kSinks || k == MaskKind::kSegments);
    all_bounded &= bounded;
    if (!bounded) continue;
    if (k == MaskKind::kSlidingWindow || k == MaskKind::kSinks)
      r.window = std::max<int32_t>(r.window, static_cast<int32_t>(a.mask.window));
    if (k == MaskKind::kSinks)
      r.sink_tokens = std::max<int32_t>(r.sink_tokens, static_cast<int32_t>(a.mask.sink_tokens));
    if (k == MaskKind::kSegments) {
      r.segment_length = static_cast<int32_t>(a.mask.segment_length);
      r.memory_segments = static_cast<int32_t>(a.mask.memory_segments);
    }
  }
  r.uses_kv = any_kv;
  r.reuse_prefix = !any_linear;
  r.bounded = any_kv && all_bounded;
  r.cache_salt = plan.description;
  return r;
}

}  // namespace

const char* MemoryKindName(MemoryKind kind) {
  switch (kind) {
    case MemoryKind::kPagedKv: return "paged_kv";
    case MemoryKind::kWindowedKv: return "windowed_kv";
    case MemoryKind::kRecurrentState: return "recurrent_state";
  }
  return "?";
}

const std::vector<AttentionBackendInfo>& AttentionBackends() {
  static const std::vector<AttentionBackendInfo> table = {
      {"full", "full", MemoryKind::kPagedKv,
       "exact causal softmax attention, FlashAttention-style tiles with online softmax; split-KV decode",
       "O(n^2) / O(n)", {}},
      {"sliding_window", "sparse", MemoryKind::kWindowedKv,
       "Mistral/Longformer local window: position p sees keys p-window+1..p; blocks leaving the window are freed",
       "O(n*w) / O(w)", {{"window", 512, 1, kMaxTokens}}},
      {"sinks", "memory", MemoryKind::kWindowedKv,
       "StreamingLLM attention sinks: the first sink_tokens plus a recent window; bounded memory for unbounded streams",
       "O(n*(s+w)) / O(s+w)", {{"sink_tokens", 4, 0, kMaxTokens}, {"window", 508, 1, kMaxTokens}}},
      {"transformer_xl", "memory", MemoryKind::kWindowedKv,
       "Transformer-XL segment recurrence: each segment attends to itself and the cached K/V of the last memory_segments segments",
       "O(n*L*(M+1)) / O(L*(M+1))",
       {{"segment_length", 256, 1, kMaxTokens}, {"memory_segments", 2, 0, 1 << 16}}},
      {"longformer", "sparse", MemoryKind::kPagedKv,
       "Longformer: local window plus global tokens (the first global_tokens and global_positions) that see and are seen by all",
       "O(n*(w+g)) / O(w+g)", {{"window", 512, 1, kMaxTokens}, {"global_tokens", 1, 0, kMaxTokens}}},
      {"bigbird", "sparse", MemoryKind::kPagedKv,
       "BigBird block sparsity: window_blocks neighbouring blocks, global_blocks first blocks, random_blocks random earlier blocks (seeded)",
       "O(n*b*(w+g+r)) / O(b*(w+g+r))",
       {{"block_size", 64, 1, 1 << 16}, {"window_blocks", 3, 1, 1 << 16}, {"global_blocks", 1, 0, 1 << 16},
        {"random_blocks", 3, 0, 64}, {"seed", 0, 0, 0}}},
      {"quest", "dynamic", MemoryKind::kPagedKv,
       "Quest query-aware selection: per KV block key min/max bounds, attend to the top_k_blocks best blocks plus a local window",
       "O(n*(n/B + k*B)) / O(n/B + k*B)", {{"top_k_blocks", 16, 1, kMaxTokens}, {"window", 64, 1, kMaxTokens}}},
      {"performer", "linear", MemoryKind::kRecurrentState,
       "Performer FAVOR+: positive orthogonal random features approximating softmax; O(1) decode from a recurrent state",
       "O(n*m*d) / O(m*d)", {{"num_features", 256, 1, 4096}, {"seed", 0, 0, 0}}},
      {"elu_linear", "linear", MemoryKind::kRecurrentState,
       "linear attention with the elu(x)+1 feature map (Katharopoulos et al.); O(1) decode from a recurrent state",
       "O(n*d^2) / O(d^2)", {}},
  };
  return table;
}

absl::StatusOr<std::shared_ptr<const AttentionPlan>> ResolveAttention(
    const AttentionChoice& choice, const AttentionResolveContext& ctx) {
  const ModelConfig& config = *ctx.config;
  auto plan = std::make_shared<AttentionPlan>();
  const int64_t num_layers = config.num_hidden_layers;
  if (choice.backend.empty()) {
    if (!choice.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attention.backend is required when attention parameters are set (got ",
          absl::StrJoin(SetParameterNames(choice), ", "), ")"));
    }
    for (int64_t l = 0; l < num_layers; ++l) plan->layers.push_back(ModelOwnAttention(config, l));
  } else {
    if (!config.has_attention()) {
      return absl::InvalidArgumentError(absl::StrCat("attention.backend \"", choice.backend, "\": ", config.architecture,
                                                     " has no attention layers (every layer is a state-space mixer)"));
    }
    const AttentionBackendInfo* b = FindBackend(choice.backend);
    if (b == nullptr) {
      std::vector<std::string> names;
      for (const AttentionBackendInfo& e : AttentionBackends()) names.emplace_back(e.name);
      return absl::InvalidArgumentError(absl::StrCat("attention.backend \"", choice.backend,
                                                     "\" is unknown; known: ", absl::StrJoin(names, ", ")));
    }
    if (config.alibi && b->memory == MemoryKind::kRecurrentState) {
      return absl::InvalidArgumentError(absl::StrCat(
          "attention.backend \"", choice.backend, "\" cannot apply ", config.architecture,
          "'s ALiBi position bias: linear attention never forms the query-key logits the bias is added to "
          "(and the model has no other positions); choose a softmax backend"));
    }
    AttentionChoice filled;
    if (absl::Status s = FillParameters(*b, choice, num_layers, filled); !s.ok()) return s;
    if (b->name == "longformer") {
      const int64_t g = *filled.global_tokens;
      if (ctx.prompt_len > 0 && g > ctx.prompt_len) {
        return absl::InvalidArgumentError(absl::StrCat("attention.global_tokens (", g,
                                                       ") exceeds the prompt length (", ctx.prompt_len, " tokens)"));
      }
      for (int64_t p : filled.global_positions) {
        if (p < 0 || (ctx.prompt_len > 0 && p >= ctx.prompt_len) || p >= kMaxTokens) {
          return absl::InvalidArgumentError(absl::StrCat("attention.global_positions: ", p,
                                                         " is outside the prompt (", ctx.prompt_len, " tokens)"));
        }
      }
      for (int64_t p = 0; p < g; ++p) plan->global_positions.push_back(static_cast<int32_t>(p));
      for (int64_t p : filled.global_positions) plan->global_positions.push_back(static_cast<int32_t>(p));
      std::sort(plan->global_positions.begin(), plan->global_positions.end());
      plan->global_positions.erase(std::unique(plan->global_positions.begin(), plan->global_positions.end()),
                                   plan->global_positions.end());
      std::sort(filled.global_positions.begin(), filled.global_positions.end());
    }
    for (int64_t l = 0; l < num_layers; ++l) {
      const bool keep_own = filled.full_every && (l + 1) % *filled.full_every == 0;
      const bool attention = config.layers[l].mixer == LayerSpec::Mixer::kAttention;
      plan->layers.push_back(keep_own || !attention ? ModelOwnAttention(config, l) : BuildLayer(*b, filled, config, l));
    }
    plan->description = FormatAttentionChoice(filled);
    if (b->name == "quest" && ctx.kv_block_size < 1) {
      return absl::InvalidArgumentError("quest needs a KV block size >= 1");
    }
  }
  for (LayerAttention& a : plan->layers) {
    if (a.mask.kind == MaskKind::kLongformer) {
      a.mask.global_positions = plan->global_positions.data();
      a.mask.num_global = static_cast<int64_t>(plan->global_positions.size());
    }
    if (a.kind == LayerAttention::Kind::kLinear) {
      a.state_offset = plan->state_floats;
      plan->state_floats += LinearStateFloats(config.num_key_value_heads, a.num_features, config.head_dim);
    }
  }
  plan->retention = Retention(*plan);
  return std::shared_ptr<const AttentionPlan>(std::move(plan));
}

}  // namespace attnserve

// DecoderModel: weight loading and the packed-batch forward pass.
#include "engine/model/decoder_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/attention/layer_attention.h"
#include "engine/memory/weight_loader.h"
#include "kernels/alibi.h"

namespace attnserve {
namespace {

const float* DataOrNull(const F32Tensor& t) { return t.data; }

// Part `j` (0 = q, 1 = k, 2 = v) of BLOOM's fused QKV weight [heads·3·D, cols] in any dtype (or
// its bias as an f32 matrix of cols = 1), whose rows go per head [q k v] (row h·3D + j·D + d): an
// owned [heads·D, cols] copy, heads-major as the attention kernels read q/k/v. Done once at load,
// so the forward pass runs the same three projections as every other attention model.
WeightTensor SplitFusedQkv(const WeightMatrix& fused, int64_t heads, int64_t D, int j) {
  const size_t part_bytes = static_cast<size_t>(D) * fused.row_bytes();
  auto rows = std::make_shared<std::vector<unsigned char>>(static_cast<size_t>(heads) * part_bytes);
  for (int64_t h = 0; h < heads; ++h)
    std::memcpy(rows->data() + h * part_bytes, fused.row(h * 3 * D + j * D), part_bytes);
  WeightTensor part;
  part.matrix = {fused.dtype, rows->data(), heads * D, fused.cols};
  part.owner = std::move(rows);
  return part;
}

// "input_layernorm.weight" -> "input_layernorm.bias".
std::string BiasOf(const std::string& weight_name) {
  return weight_name.substr(0, weight_name.size() - std::string("weight").size()) + "bias";
}

}  // namespace

DecoderModel::DecoderModel(const ModelConfig& config)
    : config_(config),
      default_context_(ResolveContextPolicy({}, {&config_, config.max_position_embeddings}).value()) {
  if (config.alibi) alibi_slopes_ = AlibiSlopes(config.num_attention_heads);
}

namespace {

// Tensor-name prefixes of one layout (ModelConfig::Naming).
struct TensorNames {
  std::string embed, final_norm, layer;        // layer: prefix before the layer index
  std::string input_norm, post_mixer_norm;     // after "<layer><l>."
  std::string attention, mamba, mlp;           // sub-module prefixes after "<layer><l>."
  std::string embed_norm = "";                 // norm right after the embedding lookup, if any
};

// `w` tells BLOOM's two layouts apart: BloomForCausalLM's "transformer.h.0..." and the bare
// BloomModel's "h.0..." of the bigscience checkpoints (transformers loads both).
TensorNames NamesFor(ModelConfig::Naming naming, const WeightStore& w) {
  switch (naming) {
    case ModelConfig::Naming::kBloom: {
      const std::string t = w.Has("transformer.word_embeddings.weight") ? "transformer." : "";
      return {t + "word_embeddings.weight", t + "ln_f.weight", t + "h.", "input_layernorm.weight",
              "post_attention_layernorm.weight", "self_attention.", "", "mlp.",
              t + "word_embeddings_layernorm.weight"};
    }
    case ModelConfig::Naming::kMambaBackbone:
      return {"backbone.embeddings.weight", "backbone.norm_f.weight", "backbone.layers.",
              "norm.weight", "", "", "mixer.", ""};
    case ModelConfig::Naming::kJamba:
      return {"model.embed_tokens.weight", "model.final_layernorm.weight", "model.layers.",
              "input_layernorm.weight", "pre_ff_layernorm.weight", "self_attn.", "mamba.", "feed_forward."};
    case ModelConfig::Naming::kLlama:
      break;
  }
  return {"model.embed_tokens.weight", "model.norm.weight", "model.layers.",
          "input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.", "", "mlp."};
}

// The experts of one MoE layer under prefix p ("model.layers.3."); returns the inactive
// parameter count (experts a token does not use).
uint64_t LoadMoeWeights(WeightLoader& load, const std::string& p, const MoeSpec& m, int64_t H, MoeWeights& w) {
  const int64_t E = m.num_experts, EI = m.expert_intermediate_size;
  w.experts.resize(E);
  switch (m.naming) {
    case MoeSpec::Naming::kMixtral:
      load.Load(p + "block_sparse_moe.gate.weight", {E, H}, w.router);
      for (int64_t e = 0; e < E; ++e) {
        const std::string x = absl::StrCat(p, "block_sparse_moe.experts.", e, ".");
        load.LoadMatrix(x + "w1.weight", EI, H, w.experts[e].gate);
        load.LoadMatrix(x + "w3.weight", EI, H, w.experts[e].up);
        load.LoadMatrix(x + "w2.weight", H, EI, w.experts[e].down);
      }
      break;
    case MoeSpec::Naming::kQwen2Moe:
    case MoeSpec::Naming::kJamba: {
      const bool jamba = m.naming == MoeSpec::Naming::kJamba;
      const std::string block = p + (jamba ? "feed_forward." : "mlp.");
      load.Load(block + (jamba ? "router.weight" : "gate.weight"), {E, H}, w.router);
      for (int64_t e = 0; e < E; ++e) {
        const std::string x = absl::StrCat(block, "experts.", e, ".");
        load.LoadMatrix(x + "gate_proj.weight", EI, H, w.experts[e].gate);
        load.LoadMatrix(x + "up_proj.weight", EI, H, w.experts[e].up);
        load.LoadMatrix(x + "down_proj.weight", H, EI, w.experts[e].down);
      }
      if (const int64_t S = m.shared_expert_intermediate_size; S > 0) {
        load.LoadMatrix(block + "shared_expert.gate_proj.weight", S, H, w.shared.gate);
        load.LoadMatrix(block + "shared_expert.up_proj.weight", S, H, w.shared.up);
        load.LoadMatrix(block + "shared_expert.down_proj.weight", H, S, w.shared.down);
        load.Load(block + "shared_expert_gate.weight", {1, H}, w.shared_gate);
      }
      break;
    }
  }
  return static_cast<uint64_t>((E - m.top_k) * 3 * EI * H);
}

}  // namespace

absl::StatusOr<std::unique_ptr<DecoderModel>> DecoderModel::Load(const ModelConfig& c,
                                                                 const WeightStore& w,
                                                                 std::optional<DType> weight_dtype) {
  std::unique_ptr<DecoderModel> m(new DecoderModel(c));
  WeightLoader load(w, weight_dtype);
  uint64_t inactive = 0;
  const TensorNames names = NamesFor(c.naming, w);
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const bool layer_norm = c.norm == ModelConfig::Norm::kLayerNorm;
  // A norm's weight, and its bias for LayerNorm models.
  auto load_norm = [&](const std::string& name, F32Tensor& weight, F32Tensor& bias) {
    load.Load(name, {H}, weight);
    if (layer_norm) load.Load(BiasOf(name), {H}, bias);
  };
  load.LoadMatrix(names.embed, c.vocab_size, H, m->embed_tokens);
  if (c.embedding_norm) load_norm(names.embed_norm, m->embed_norm, m->embed_norm_bias);
  load_norm(names.final_norm, m->final_norm, m->final_norm_bias);
  if (c.tie_word_embeddings && !w.Has("lm_head.weight")) {
    m->lm_head = m->embed_tokens;
  } else {
    load.LoadMatrix("lm_head.weight", c.vocab_size, H, m->lm_head);
  }
  // Logits with f32 activations even when block-dtype decode quantizes them to int8: the top two
  // logits of a small model are often within the int8 error (SmolLM2-135M Q4_1 answers "What is the
  // capital of France?" with "L'Étoile" instead of "Paris" otherwise, as llama.cpp does;
  // docs/benchmarks.md "GGUF files").
  m->lm_head.matrix.exact_activations = true;
  m->layers_.resize(c.num_hidden_layers);
  int64_t num_kv_layers = 0;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    Layer& L = m->layers_[l];
    const LayerSpec& spec = c.layers[l];
    const std::string p = absl::StrCat(names.layer, l, ".");
    load_norm(p + names.input_norm, L.input_norm, L.input_norm_bias);
    if (spec.mlp != LayerSpec::Mlp::kNone)
      load_norm(p + names.post_mixer_norm, L.post_attention_norm, L.post_attention_norm_bias);
    L.ssm_state_offset = c.ssm_state_offset(l);
    switch (spec.mixer) {
      case LayerSpec::Mixer::kMamba:
        L.mamba = std::make_unique<MambaMixerWeights>();
        L.mamba->Load(load, p + names.mamba, c);
        break;
      case LayerSpec::Mixer::kMamba2:
        L.mamba2 = std::make_unique<Mamba2MixerWeights>();
        L.mamba2->Load(load, p + names.mamba, c);
        break;
      case LayerSpec::Mixer::kAttention: {
        L.kv_layer = num_kv_layers++;
        const std::string a = p + names.attention;
        if (c.naming == ModelConfig::Naming::kBloom) {
          WeightTensor qkv;
          F32Tensor qkv_bias;
          load.LoadMatrix(a + "query_key_value.weight", 3 * c.q_dim(), H, qkv);
          load.Load(a + "query_key_value.bias", {3 * c.q_dim()}, qkv_bias);
          load.LoadMatrix(a + "dense.weight", H, c.q_dim(), L.o_proj);
          load.Load(a + "dense.bias", {H}, L.o_bias);
          if (!load.status().ok()) break;
          WeightTensor* weights[3] = {&L.q_proj, &L.k_proj, &L.v_proj};
          F32Tensor* biases[3] = {&L.q_bias, &L.k_bias, &L.v_bias};
          const WeightMatrix fused_bias{DType::kF32, qkv_bias.data, 3 * c.q_dim(), 1};
          for (int j = 0; j < 3; ++j) {
            *weights[j] = SplitFusedQkv(qkv.matrix, c.num_attention_heads, c.head_dim, j);
            const WeightTensor bias = SplitFusedQkv(fused_bias, c.num_attention_heads, c.head_dim, j);
            biases[j]->data = static_cast<const float*>(bias.matrix.data);
            biases[j]->shape = {bias.matrix.rows};
            biases[j]->owner = bias.owner;
          }
          break;
        }
        load.LoadMatrix(a + "q_proj.weight", c.q_dim(), H, L.q_proj);
        load.LoadMatrix(a + "k_proj.weight", c.kv_dim(), H, L.k_proj);
        load.LoadMatrix(a + "v_proj.weight", c.kv_dim(), H, L.v_proj);
        load.LoadMatrix(a + "o_proj.weight", H, c.q_dim(), L.o_proj);
        if (c.attention_bias) {
          load.Load(a + "q_proj.bias", {c.q_dim()}, L.q_bias);
          load.Load(a + "k_proj.bias", {c.kv_dim()}, L.k_bias);
          load.Load(a + "v_proj.bias", {c.kv_dim()}, L.v_bias);
        }
        if (c.o_proj_bias) load.Load(a + "o_proj.bias", {H}, L.o_bias);
        break;
      }
    }
    if (spec.mlp == LayerSpec::Mlp::kMoe) {
      L.moe = std::make_unique<MoeWeights>();
      inactive += LoadMoeWeights(load, p, c.moe, H, *L.moe);  // all experts count as parameters
    } else if (spec.mlp == LayerSpec::Mlp::kDense) {
      const std::string x = p + names.mlp;
      load.LoadMatrix(x + "gate_proj.weight", I, H, L.gate_proj);
      load.LoadMatrix(x + "up_proj.weight", I, H, L.up_proj);
      load.LoadMatrix(x + "down_proj.weight", H, I, L.down_proj);
      if (c.mlp_bias) {
        load.Load(x + "gate_proj.bias", {I}, L.gate_bias);
        load.Load(x + "up_proj.bias", {I}, L.up_bias);
        load.Load(x + "down_proj.bias", {H}, L.down_bias);
      }
    } else if (spec.mlp == LayerSpec::Mlp::kGelu) {
      const std::string x = p + names.mlp;
      load.LoadMatrix(x + "dense_h_to_4h.weight", I, H, L.up_proj);
      load.LoadMatrix(x + "dense_4h_to_h.weight", H, I, L.down_proj);
      if (c.mlp_bias) {
        load.Load(x + "dense_h_to_4h.bias", {I}, L.up_bias);
        load.Load(x + "dense_4h_to_h.bias", {H}, L.down_bias);
      }
    }
  }
  if (!load.status().ok()) return load.status();
  m->num_parameters_ = load.params();
  m->matrix_dtype_ = load.MatrixDTypes();
  m->parameter_bytes_ = load.bytes();
  m->num_active_parameters_ = load.params() - inactive;
  m->moe_load_.expert_tokens.resize(c.num_hidden_layers);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    if (c.layers[l].mlp == LayerSpec::Mlp::kMoe) m->moe_load_.expert_tokens[l].assign(c.moe.num_experts, 0);
  return m;
}

void DecoderModel::Resize(int64_t T) {
  const ModelConfig& c = config_;
  auto grow = [](auto& v, size_t n) {
    if (v.size() < n) v.resize(n);
  };
  grow(x_, T * c.hidden_size);
  grow(h_, T * c.hidden_size);
  grow(q_, T * c.q_dim());
  grow(attn_, T * c.q_dim());
  grow(k_, T * c.kv_dim());
  grow(v_, T * c.kv_dim());
  grow(gate_, T * c.intermediate_size);
  grow(up_, T * c.intermediate_size);
  grow(cos_, T * c.head_dim / 2);
  grow(sin_, T * c.head_dim / 2);
  grow(positions_, T);
  grow(token_ids_, T);
  grow(block_out_, T * c.hidden_size);
}

int64_t DecoderModel::Forward(std::span<const ForwardChunk> chunks, PagedKvPool& kv, Backend& be,
                            std::vector<float>& logits) {
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  int64_t T = 0;
  for (const ForwardChunk& ch : chunks) T += ch.num_tokens;
  if (T == 0) return 0;
  Resize(T);

  // Embeddings and positions of the packed tokens.
  {
    int64_t t = 0;
    for (const ForwardChunk& ch : chunks) {
      for (int32_t i = 0; i < ch.num_tokens; ++i, ++t) {
        token_ids_[t] = ch.token_ids[i];
        positions_[t] = ch.start_pos + i;
      }
    }
    be.GetRows(embed_tokens.matrix, token_ids_.data(), T, x_.data());
  }
  if (c.embedding_norm) Norm(be, x_.data(), embed_norm, embed_norm_bias, x_.data(), T);
  if (c.rope && c.has_attention()) {
    // Each sequence's positions under its own context policy (dynamic NTK: for its current length).
    int64_t t0 = 0;
    const int64_t half = c.head_dim / 2;
    for (const ForwardChunk& ch : chunks) {
      const ContextPlan& policy = ch.context != nullptr ? *ch.context : *default_context_;
      const RopeFrequencies& f = policy.FrequenciesFor(ch.start_pos + ch.num_tokens, rope_scratch_);
      RopeCosSin(f, positions_.data() + t0, ch.num_tokens, cos_.data() + t0 * half, sin_.data() + t0 * half);
      t0 += ch.num_tokens;
    }
  }

  for (const Layer& L : layers_) {
    const int64_t layer_index = &L - layers_.data();
    // Mixer block: h = norm(x); x += mixer(h) (attention or a state-space mixer). With
    // residual_from_norm (BLOOM option) the residual is h itself: x = h + mixer(h).
    Norm(be, x_.data(), L.input_norm, L.input_norm_bias, h_.data(), T);
    if (c.residual_from_norm) std::memcpy(x_.data(), h_.data(), T * H * sizeof(float));
    if (L.kv_layer >= 0) {
      AttentionMixer(L, layer_index, chunks, kv, be, T);
    } else {
      ssm_chunks_.clear();
      int64_t row = 0;
      for (const ForwardChunk& ch : chunks) {
        ssm_chunks_.push_back({row, ch.num_tokens, ch.ssm_state + L.ssm_state_offset});
        row += ch.num_tokens;
      }
      if (L.mamba) mamba_mixer_.Forward(c, *L.mamba, h_.data(), ssm_chunks_, be, block_out_.data());
      else mamba2_mixer_.Forward(c, *L.mamba2, h_.data(), ssm_chunks_, be, block_out_.data());
    }
    be.AddInPlace(x_.data(), block_out_.data(), T * H);
    if (c.layers[layer_index].mlp == LayerSpec::Mlp::kNone) continue;

    // MLP block: h = norm(x); x += down(silu(gate(h)) * up(h)) (GELU: down(gelu(up(h))); or the
    // MoE block).
    Norm(be, x_.data(), L.post_attention_norm, L.post_attention_norm_bias, h_.data(), T);
    if (c.residual_from_norm) std::memcpy(x_.data(), h_.data(), T * H * sizeof(float));
    if (L.moe) {
      ExpertShards& shards = Shards(be);
      if (moe_load_.shard_tokens.size() != static_cast<size_t>(shards.num_shards()))
        moe_load_.shard_tokens.assign(shards.num_shards(), 0);
      moe_block_.Forward(c.moe, *L.moe, H, h_.data(), T, be, shards, moe_load_.expert_tokens[layer_index],
                         moe_load_.shard_tokens, block_out_.data());
      be.AddInPlace(x_.data(), block_out_.data(), T * H);
      continue;
    }
    if (c.layers[layer_index].mlp == LayerSpec::Mlp::kGelu) {
      be.Linear(h_.data(), L.up_proj.matrix, DataOrNull(L.up_bias), gate_.data(), T);
      be.GeluTanh(gate_.data(), gate_.data(), T * I);
    } else {
      const LinearOutput gate_up[2] = {{L.gate_proj.matrix, DataOrNull(L.gate_bias), gate_.data()},
                                       {L.up_proj.matrix, DataOrNull(L.up_bias), up_.data()}};
      be.Linears(h_.data(), T, gate_up);  // one thread team for both
      be.SiluMul(gate_.data(), up_.data(), gate_.data(), T * I);
    }
    be.Linear(gate_.data(), L.down_proj.matrix, DataOrNull(L.down_bias), h_.data(), T);
    be.AddInPlace(x_.data(), h_.data(), T * H);
  }

  // Gather the rows that need logits, normalise them, project to the vocabulary.
  int64_t rows = 0;
  {
    int64_t t0 = 0;
    for (const ForwardChunk& ch : chunks) {
      if (ch.all_logits) rows += ch.num_tokens;
      else if (ch.want_logits) rows += 1;
    }
    if (logit_rows_.size() < static_cast<size_t>(rows * H)) logit_rows_.resize(rows * H);
    int64_t r = 0;
    for (const ForwardChunk& ch : chunks) {
      const int64_t first = ch.all_logits ? t0 : t0 + ch.num_tokens - 1;
      const int64_t count = ch.all_logits ? ch.num_tokens : (ch.want_logits ? 1 : 0);
      if (count > 0) std::memcpy(&logit_rows_[r * H], &x_[first * H], count * H * sizeof(float));
      r += count;
      t0 += ch.num_tokens;
    }
  }
  if (rows == 0) return 0;
  Norm(be, logit_rows_.data(), final_norm, final_norm_bias, logit_rows_.data(), rows);
  logits.resize(rows * c.vocab_size);
  be.Linear(logit_rows_.data(), lm_head.matrix, nullptr, logits.data(), rows);
  return rows;
}

void DecoderModel::AttentionMixer(const Layer& L, int64_t layer_index, std::span<const ForwardChunk> chunks,
                                  PagedKvPool& kv, Backend& be, int64_t T) {
  // q,k,v = proj(h); rope; cache k,v; attend per sequence (+ ALiBi); block_out = o_proj(attn).
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, D = c.head_dim, q_dim = c.q_dim(), kv_dim = c.kv_dim();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  const LinearOutput qkv[3] = {{L.q_proj.matrix, DataOrNull(L.q_bias), q_.data()},
                               {L.k_proj.matrix, DataOrNull(L.k_bias), k_.data()},
                               {L.v_proj.matrix, DataOrNull(L.v_bias), v_.data()}};
  be.Linears(h_.data(), T, qkv);  // one thread team for the three projections
  if (c.rope) {
    be.ApplyRope(q_.data(), cos_.data(), sin_.data(), T, c.num_attention_heads, D);
    be.ApplyRope(k_.data(), cos_.data(), sin_.data(), T, c.num_key_value_heads, D);
  }
  int64_t t0 = 0;
  float* k_pool = kv.k(L.kv_layer);
  float* v_pool = kv.v(L.kv_layer);
  for (const ForwardChunk& ch : chunks) {
    const LayerAttention& la = ch.attention->layers[layer_index];
    if (la.kind != LayerAttention::Kind::kLinear) {
      for (int32_t i = 0; i < ch.num_tokens; ++i) {
        const int64_t row = kv.RowOffset(ch.block_table, ch.start_pos + i);
        std::memcpy(k_pool + row, &k_[(t0 + i) * kv_dim], kv_dim * sizeof(float));
        std::memcpy(v_pool + row, &v_[(t0 + i) * kv_dim], kv_dim * sizeof(float));
      }
    }
    LayerAttentionIo io;
    io.q = &q_[t0 * q_dim];
    io.k_new = &k_[t0 * kv_dim];
    io.v_new = &v_[t0 * kv_dim];
    io.kv = PagedKvView{k_pool, v_pool, ch.block_table, kv.block_size()};
    if (la.kind == LayerAttention::Kind::kQuest) io.key_summaries = kv.key_summaries(L.kv_layer);
    io.state = ch.state;
    io.out = &attn_[t0 * q_dim];
    const AttentionShape shape{ch.num_tokens, ch.start_pos + ch.num_tokens, c.num_attention_heads,
                               c.num_key_value_heads, D, kv_dim, scale,
                               alibi_slopes_.empty() ? nullptr : alibi_slopes_.data()};
    RunLayerAttention(be, la, shape, io, attention_scratch_);
    t0 += ch.num_tokens;
  }
  be.Linear(attn_.data(), L.o_proj.matrix, DataOrNull(L.o_bias), block_out_.data(), T);
}

void DecoderModel::Norm(Backend& be, const float* x, const F32Tensor& weight, const F32Tensor& bias, float* y,
                        int64_t rows) const {
  const float eps = static_cast<float>(config_.rms_norm_eps);
  if (config_.norm == ModelConfig::Norm::kLayerNorm) {
    be.LayerNorm(x, weight.data, bias.data, y, rows, config_.hidden_size, eps);
  } else {
    be.RmsNorm(x, weight.data, y, rows, config_.hidden_size, eps);
  }
}

ExpertShards& DecoderModel::Shards(Backend& backend) {
  if (shards_ != nullptr) return *shards_;
  if (!default_shards_) {
    default_shards_ = std::make_unique<ExpertShards>(ContiguousPlacement(1, config_.moe.num_experts).value(), 1, &backend);
  }
  return *default_shards_;
}

}  // namespace attnserve

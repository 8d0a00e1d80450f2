// LlamaModel: weight loading and the packed-batch forward pass.
#include "engine/llama_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "engine/attention/layer_attention.h"

namespace attnserve {
namespace {

const float* DataOrNull(const F32Tensor& t) { return t.data; }

}  // namespace

LlamaModel::LlamaModel(const ModelConfig& config)
    : config_(config), rope_(config.head_dim, config.rope_theta) {}

absl::StatusOr<std::unique_ptr<LlamaModel>> LlamaModel::Load(const ModelConfig& c,
                                                             const WeightStore& w) {
  std::unique_ptr<LlamaModel> m(new LlamaModel(c));
  uint64_t params = 0, inactive = 0;
  absl::Status error;
  auto load = [&](const std::string& name, std::vector<int64_t> shape, F32Tensor& out) {
    if (!error.ok()) return;
    absl::StatusOr<F32Tensor> t = w.LoadF32(name, shape);
    if (!t.ok()) {
      error = t.status();
      return;
    }
    out = std::move(*t);
    params += out.numel();
  };
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  load("model.embed_tokens.weight", {c.vocab_size, H}, m->embed_tokens);
  load("model.norm.weight", {H}, m->final_norm);
  if (c.tie_word_embeddings && !w.Has("lm_head.weight")) {
    m->lm_head = m->embed_tokens;
  } else {
    load("lm_head.weight", {c.vocab_size, H}, m->lm_head);
  }
  m->layers_.resize(c.num_hidden_layers);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    Layer& L = m->layers_[l];
    const std::string p = absl::StrCat("model.layers.", l, ".");
    load(p + "input_layernorm.weight", {H}, L.input_norm);
    load(p + "post_attention_layernorm.weight", {H}, L.post_attention_norm);
    load(p + "self_attn.q_proj.weight", {c.q_dim(), H}, L.q_proj);
    load(p + "self_attn.k_proj.weight", {c.kv_dim(), H}, L.k_proj);
    load(p + "self_attn.v_proj.weight", {c.kv_dim(), H}, L.v_proj);
    load(p + "self_attn.o_proj.weight", {H, c.q_dim()}, L.o_proj);
    if (c.attention_bias) {
      load(p + "self_attn.q_proj.bias", {c.q_dim()}, L.q_bias);
      load(p + "self_attn.k_proj.bias", {c.kv_dim()}, L.k_bias);
      load(p + "self_attn.v_proj.bias", {c.kv_dim()}, L.v_bias);
    }
    if (c.o_proj_bias) load(p + "self_attn.o_proj.bias", {H}, L.o_bias);
    if (c.layers[l].mlp == LayerSpec::Mlp::kMoe) {
      const MoeSpec& m = c.moe;
      const int64_t E = m.num_experts, EI = m.expert_intermediate_size;
      L.moe = std::make_unique<MoeWeights>();
      MoeWeights& w = *L.moe;
      w.experts.resize(E);
      if (m.naming == MoeSpec::Naming::kMixtral) {
        load(p + "block_sparse_moe.gate.weight", {E, H}, w.router);
        for (int64_t e = 0; e < E; ++e) {
          const std::string x = absl::StrCat(p, "block_sparse_moe.experts.", e, ".");
          load(x + "w1.weight", {EI, H}, w.experts[e].gate);
          load(x + "w3.weight", {EI, H}, w.experts[e].up);
          load(x + "w2.weight", {H, EI}, w.experts[e].down);
        }
      } else {
        load(p + "mlp.gate.weight", {E, H}, w.router);
        for (int64_t e = 0; e < E; ++e) {
          const std::string x = absl::StrCat(p, "mlp.experts.", e, ".");
          load(x + "gate_proj.weight", {EI, H}, w.experts[e].gate);
          load(x + "up_proj.weight", {EI, H}, w.experts[e].up);
          load(x + "down_proj.weight", {H, EI}, w.experts[e].down);
        }
        if (const int64_t S = m.shared_expert_intermediate_size; S > 0) {
          load(p + "mlp.shared_expert.gate_proj.weight", {S, H}, w.shared.gate);
          load(p + "mlp.shared_expert.up_proj.weight", {S, H}, w.shared.up);
          load(p + "mlp.shared_expert.down_proj.weight", {H, S}, w.shared.down);
          load(p + "mlp.shared_expert_gate.weight", {1, H}, w.shared_gate);
        }
      }
      // All experts count as parameters; a token activates top_k of them.
      inactive += static_cast<uint64_t>((E - m.top_k) * 3 * EI * H);
      continue;
    }
    load(p + "mlp.gate_proj.weight", {I, H}, L.gate_proj);
    load(p + "mlp.up_proj.weight", {I, H}, L.up_proj);
    load(p + "mlp.down_proj.weight", {H, I}, L.down_proj);
    if (c.mlp_bias) {
      load(p + "mlp.gate_proj.bias", {I}, L.gate_bias);
      load(p + "mlp.up_proj.bias", {I}, L.up_bias);
      load(p + "mlp.down_proj.bias", {H}, L.down_bias);
    }
  }
  if (!error.ok()) return error;
  m->num_parameters_ = params;
  m->num_active_parameters_ = params - inactive;
  m->moe_load_.expert_tokens.resize(c.num_hidden_layers);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    if (c.layers[l].mlp == LayerSpec::Mlp::kMoe) m->moe_load_.expert_tokens[l].assign(c.moe.num_experts, 0);
  return m;
}

void LlamaModel::Resize(int64_t T) {
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
}

int64_t LlamaModel::Forward(std::span<const ForwardChunk> chunks, PagedKvPool& kv, Backend& be,
                            std::vector<float>& logits) {
  const ModelConfig& c = config_;
  const int64_t H = c.hidden_size, I = c.intermediate_size, D = c.head_dim;
  const int64_t q_dim = c.q_dim(), kv_dim = c.kv_dim();
  int64_t T = 0;
  for (const ForwardChunk& ch : chunks) T += ch.num_tokens;
  if (T == 0) return 0;
  Resize(T);

  // Embeddings and positions of the packed tokens.
  {
    int64_t t = 0;
    for (const ForwardChunk& ch : chunks) {
      for (int32_t i = 0; i < ch.num_tokens; ++i, ++t) {
        std::memcpy(&x_[t * H], embed_tokens.data + int64_t{ch.token_ids[i]} * H, H * sizeof(float));
        positions_[t] = ch.start_pos + i;
      }
    }
  }
  rope_.Compute(positions_.data(), T, cos_.data(), sin_.data());
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));

  for (const Layer& L : layers_) {
    // Attention block: h = norm(x); q,k,v = proj(h); rope; cache; attend; x += o_proj(attn).
    be.RmsNorm(x_.data(), L.input_norm.data, h_.data(), T, H, c.rms_norm_eps);
    be.Linear(h_.data(), L.q_proj.data, DataOrNull(L.q_bias), q_.data(), T, q_dim, H);
    be.Linear(h_.data(), L.k_proj.data, DataOrNull(L.k_bias), k_.data(), T, kv_dim, H);
    be.Linear(h_.data(), L.v_proj.data, DataOrNull(L.v_bias), v_.data(), T, kv_dim, H);
    be.ApplyRope(q_.data(), cos_.data(), sin_.data(), T, c.num_attention_heads, D);
    be.ApplyRope(k_.data(), cos_.data(), sin_.data(), T, c.num_key_value_heads, D);
    const int64_t layer_index = &L - layers_.data();
    int64_t t0 = 0;
    float* k_pool = kv.k(layer_index);
    float* v_pool = kv.v(layer_index);
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
      if (la.kind == LayerAttention::Kind::kQuest) io.key_summaries = kv.key_summaries(layer_index);
      io.state = ch.state;
      io.out = &attn_[t0 * q_dim];
      const AttentionShape shape{ch.num_tokens, ch.start_pos + ch.num_tokens, c.num_attention_heads,
                                 c.num_key_value_heads, D, kv_dim, scale};
      RunLayerAttention(be, la, shape, io, attention_scratch_);
      t0 += ch.num_tokens;
    }
    be.Linear(attn_.data(), L.o_proj.data, DataOrNull(L.o_bias), h_.data(), T, H, q_dim);
    be.AddInPlace(x_.data(), h_.data(), T * H);

    // MLP block: x += down(silu(gate(h)) * up(h)) (or the MoE block), h = norm(x).
    be.RmsNorm(x_.data(), L.post_attention_norm.data, h_.data(), T, H, c.rms_norm_eps);
    if (L.moe) {
      ExpertShards& shards = Shards(be);
      if (moe_load_.shard_tokens.size() != static_cast<size_t>(shards.num_shards()))
        moe_load_.shard_tokens.assign(shards.num_shards(), 0);
      moe_out_.resize(T * H);
      moe_block_.Forward(c.moe, *L.moe, H, h_.data(), T, be, shards, moe_load_.expert_tokens[layer_index],
                         moe_load_.shard_tokens, moe_out_.data());
      be.AddInPlace(x_.data(), moe_out_.data(), T * H);
      continue;
    }
    be.Linear(h_.data(), L.gate_proj.data, DataOrNull(L.gate_bias), gate_.data(), T, I, H);
    be.Linear(h_.data(), L.up_proj.data, DataOrNull(L.up_bias), up_.data(), T, I, H);
    be.SiluMul(gate_.data(), up_.data(), gate_.data(), T * I);
    be.Linear(gate_.data(), L.down_proj.data, DataOrNull(L.down_bias), h_.data(), T, H, I);
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
  be.RmsNorm(logit_rows_.data(), final_norm.data, logit_rows_.data(), rows, H, c.rms_norm_eps);
  logits.resize(rows * c.vocab_size);
  be.Linear(logit_rows_.data(), lm_head.data, nullptr, logits.data(), rows, c.vocab_size, H);
  return rows;
}

ExpertShards& LlamaModel::Shards(Backend& backend) {
  if (shards_ != nullptr) return *shards_;
  if (!default_shards_) {
    default_shards_ = std::make_unique<ExpertShards>(ContiguousPlacement(1, config_.moe.num_experts).value(), 1, &backend);
  }
  return *default_shards_;
}

}  // namespace attnserve

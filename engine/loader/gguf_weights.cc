// GGUF tensors -> a WeightStore under Hugging Face names and shapes (gguf_model.h, GgufWeights).
// Names follow llama.cpp's tensor map (gguf-py constants.py TENSOR_NAMES / convert_hf_to_gguf.py):
//   token_embd -> model.embed_tokens, output_norm -> model.norm, output -> lm_head,
//   blk.N.{attn_norm, attn_q, attn_k, attn_v, attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down},
//   MoE: ffn_gate_inp (router), ffn_{gate,up,down}_exps (experts stacked in a 3-D tensor, or the
//   older per-expert ffn_{gate,up,down}.E), Qwen2-MoE's shared expert *_shexp.
// GGUF dims are innermost first: the HF shape is the reversed dims. The llama architecture's
// converter permutes each head's Q/K rows from HF's rotate-half order to interleaved pairs
// (row h·d + 2i + s holds HF row h·d + s·d/2 + i); they are put back in HF order here, in their
// block format (whole rows move), so the engine's RoPE applies unchanged.
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "engine/loader/gguf_model.h"
#include "engine/loader/mapped_file.h"

namespace attnserve {
namespace {

// HF name of a per-layer GGUF tensor "<base>.<suffix>" of layer `layer`, or "" when unknown.
std::string LayerName(const std::string& arch, bool moe, int64_t layer, const std::string& base,
                      const std::string& suffix) {
  const std::string p = absl::StrCat("model.layers.", layer, ".");
  const std::string s = "." + suffix;
  if (base == "attn_norm") return p + "input_layernorm" + s;
  if (base == "ffn_norm") return p + "post_attention_layernorm" + s;
  if (base == "attn_q") return p + "self_attn.q_proj" + s;
  if (base == "attn_k") return p + "self_attn.k_proj" + s;
  if (base == "attn_v") return p + "self_attn.v_proj" + s;
  if (base == "attn_output") return p + "self_attn.o_proj" + s;
  // Dense MLPs, also the dense layers of a MoE model (Qwen2-MoE mlp_only_layers).
  if (base == "ffn_gate") return p + "mlp.gate_proj" + s;
  if (base == "ffn_up") return p + "mlp.up_proj" + s;
  if (base == "ffn_down") return p + "mlp.down_proj" + s;
  if (!moe) return "";
  if (arch == "llama") {  // Mixtral
    if (base == "ffn_gate_inp") return p + "block_sparse_moe.gate" + s;
    return "";
  }
  if (base == "ffn_gate_inp") return p + "mlp.gate" + s;
  if (base == "ffn_gate_inp_shexp") return p + "mlp.shared_expert_gate" + s;
  if (base == "ffn_gate_shexp") return p + "mlp.shared_expert.gate_proj" + s;
  if (base == "ffn_up_shexp") return p + "mlp.shared_expert.up_proj" + s;
  if (base == "ffn_down_shexp") return p + "mlp.shared_expert.down_proj" + s;
  return "";
}

// HF name of expert `e`'s projection ("gate" / "up" / "down") in layer `layer`.
std::string ExpertName(const std::string& arch, int64_t layer, int64_t e, const std::string& proj) {
  if (arch == "llama") {
    const char* w = proj == "gate" ? "w1" : proj == "down" ? "w2" : "w3";
    return absl::StrCat("model.layers.", layer, ".block_sparse_moe.experts.", e, ".", w, ".weight");
  }
  return absl::StrCat("model.layers.", layer, ".mlp.experts.", e, ".", proj, "_proj.weight");
}

StoredTensor Stored(const GgufFile& file, const GgufTensor& t, std::string name, std::vector<int64_t> shape,
                    const unsigned char* data, size_t nbytes) {
  StoredTensor s;
  s.name = std::move(name);
  s.file = absl::StrCat(file.path(), " (GGUF tensor '", t.name, "')");
  s.dtype = *t.type->dtype;
  s.shape = std::move(shape);
  s.data = data;
  s.nbytes = nbytes;
  return s;
}

// Rows of `t` (a weight [heads·head_dim, cols] or a bias [heads·head_dim]) from llama.cpp's
// interleaved-pair order back to HF's rotate-half order, into a new buffer.
absl::StatusOr<std::shared_ptr<unsigned char>> UnpermuteHeads(const GgufFile& file, const GgufTensor& t,
                                                              int64_t heads, int64_t head_dim) {
  const int64_t rows = t.dims.size() == 2 ? t.dims[1] : t.dims[0];
  if (rows != heads * head_dim || head_dim % 2 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tensor '", t.name, "' has ", rows,
                                                   " rows, expected ", heads, " heads x ", head_dim));
  }
  const size_t row_bytes = t.nbytes / static_cast<size_t>(rows);
  auto out = std::shared_ptr<unsigned char>(new unsigned char[t.nbytes], std::default_delete<unsigned char[]>());
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t s = 0; s < 2; ++s) {
      for (int64_t i = 0; i < half; ++i) {
        const int64_t hf_row = h * head_dim + s * half + i, gguf_row = h * head_dim + 2 * i + s;
        std::memcpy(out.get() + hf_row * row_bytes, t.data + gguf_row * row_bytes, row_bytes);
      }
    }
  }
  ReleaseMappedPages(t.data, t.nbytes);
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<WeightStore>> GgufWeights(const GgufModel& model) {
  const GgufFile& file = *model.file;
  const std::string& arch = model.architecture;
  const nlohmann::json& c = model.hf_config;
  const bool moe = c.contains("num_local_experts") || c.contains("num_experts");
  const int64_t heads = c["num_attention_heads"].get<int64_t>();
  const int64_t kv_heads = c["num_key_value_heads"].get<int64_t>();
  const int64_t head_dim = c["head_dim"].get<int64_t>();
  const int64_t layers = c["num_hidden_layers"].get<int64_t>();

  std::vector<StoredTensor> stored;
  std::vector<std::shared_ptr<const void>> owners{model.file};
  for (const GgufTensor& t : file.tensors()) {
    if (!t.type->dtype) {
      return absl::UnimplementedError(absl::StrCat(file.path(), ": tensor '", t.name, "' has ggml type ",
                                                   t.type->name, ", which attnserve does not compute in"));
    }
    std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());
    std::string name;
    if (t.name == "token_embd.weight") {
      name = "model.embed_tokens.weight";
    } else if (t.name == "output_norm.weight") {
      name = "model.norm.weight";
    } else if (t.name == "output.weight") {
      name = "lm_head.weight";
    } else if (absl::StartsWith(t.name, "blk.")) {
      // blk.<layer>.<base>[.<expert>].<suffix>
      const std::vector<std::string> parts = absl::StrSplit(t.name, '.');
      int64_t layer = -1, expert = -1;
      if (parts.size() < 4 || !absl::SimpleAtoi(parts[1], &layer) || layer < 0 || layer >= layers ||
          (parts.size() == 5 && !absl::SimpleAtoi(parts[3], &expert)) || parts.size() > 5) {
        return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tensor name '", t.name,
                                                       "' is not blk.<layer below ", layers, ">.<name>.<suffix>"));
      }
      const std::string& base = parts[2];
      const std::string& suffix = parts.back();
      if (moe && (base == "ffn_gate_exps" || base == "ffn_up_exps" || base == "ffn_down_exps")) {
        const std::string proj = base.substr(4, base.size() - 9);  // "ffn_" + proj + "_exps"
        // Stacked experts [E, out, in]: expert e is the e-th contiguous slice.
        if (shape.size() != 3 || suffix != "weight") {
          return absl::InvalidArgumentError(absl::StrCat(file.path(), ": tensor '", t.name, "' must be a 3-D weight"));
        }
        const int64_t num_experts = shape[0];
        const size_t slice = t.nbytes / static_cast<size_t>(num_experts);
        for (int64_t e = 0; e < num_experts; ++e) {
          stored.push_back(Stored(file, t, ExpertName(arch, layer, e, proj), {shape[1], shape[2]},
                                  t.data + e * slice, slice));
        }
        continue;
      }
      if (expert >= 0) {  // older per-expert layout blk.N.ffn_gate.E.weight
        if (!moe || (base != "ffn_gate" && base != "ffn_up" && base != "ffn_down")) {
          return absl::InvalidArgumentError(absl::StrCat(file.path(), ": unexpected expert tensor '", t.name, "'"));
        }
        stored.push_back(Stored(file, t, ExpertName(arch, layer, expert, base.substr(4)), shape, t.data, t.nbytes));
        continue;
      }
      name = LayerName(arch, moe, layer, base, suffix);
      if (arch == "llama" && (base == "attn_q" || base == "attn_k")) {
        absl::StatusOr<std::shared_ptr<unsigned char>> rows =
            UnpermuteHeads(file, t, base == "attn_q" ? heads : kv_heads, head_dim);
        if (!rows.ok()) return rows.status();
        stored.push_back(Stored(file, t, name, shape, rows->get(), t.nbytes));
        owners.push_back(*std::move(rows));
        continue;
      }
    }
    if (name.empty()) name = t.name;  // not used by the engine; kept under its GGUF name
    stored.push_back(Stored(file, t, std::move(name), std::move(shape), t.data, t.nbytes));
  }
  return WeightStore::FromTensors(file.path(), std::move(stored), std::move(owners));
}

}  // namespace attnserve

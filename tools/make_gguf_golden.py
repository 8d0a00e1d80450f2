#!/usr/bin/env python3
"""GGUF golden models: the golden HF models of tests/golden/models/ written as GGUF files in each
ggml weight format, and transformers' outputs on those very files, the reference for attnserve's
GGUF loading (tests/engine/gguf_golden_test.cc).

    /tmp/venv/bin/python tools/make_gguf_golden.py     # needs torch, transformers, gguf (PyPI)

For each (model, format) in CASES the model's safetensors are written with gguf-py's GGUFWriter in
llama.cpp's layout (convert_hf_to_gguf.py): llama.cpp's metadata keys and tensor names, Q/K rows of
the llama architecture permuted to llama.cpp's interleaved RoPE order, MoE experts stacked in 3-D
tensors, 1-D tensors (norms, biases) in F32 and every matrix in the format (quantized by gguf-py's
numpy port of ggml's reference quantizer; the router quantized too in a *_router case), and the
tokenizer's vocabulary as a "gpt2" vocab (tokens, types, merges). The reference is transformers
loading the GGUF file itself (from_pretrained(gguf_file=...), which dequantizes every tensor to
float32 and undoes the permutation with its own code): the logits of the source model's first
golden logits input and the greedy continuation of each golden greedy prompt. Writes
tests/golden/gguf_models/<model>_<format>.gguf and <model>_<format>.json:
    {"source", "format", "transformers_version", "torch_version", "min_top2_margin",
     "logits_cases": [{"input_ids", "logits"}], "greedy_cases": [{"prompt_ids", "generated_ids"}]}
"""

import json
import os
import sys
import tempfile

import numpy as np
import torch
import transformers
import gguf
from gguf import GGMLQuantizationType as Q
from safetensors.numpy import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden_models as mg  # noqa: E402

OUT_DIR = os.path.join(mg.GOLDEN_DIR, "..", "gguf_models")
FORMATS = {"f32": Q.F32, "f16": Q.F16, "bf16": Q.BF16, "q8_0": Q.Q8_0, "q4_0": Q.Q4_0, "q4_1": Q.Q4_1,
           "q5_0": Q.Q5_0, "q5_1": Q.Q5_1}
CASES = [("llama_gqa", f) for f in FORMATS] + [
    ("llama_tied", "q4_1"), ("qwen2_bias", "f16"), ("qwen2_bias", "q4_1"), ("qwen2_bias", "q8_0"),
    ("mixtral_moe", "q8_0"), ("mixtral_moe", "q4_0"), ("qwen2_moe", "f16"), ("qwen2_moe", "bf16")]
# transformers 5.25 has no working GGUF loader for Mixtral (it reads such a file as a dense Llama
# and leaves the MLP uninitialised) nor for these Qwen2-MoE tensors (fused experts mismatch): for it the reference is the source model's golden_<format>.json of
# tools/make_dtype_golden.py — transformers on the safetensors with the same matrices rounded by
# the same gguf-py quantizer (router, norms f32 in both), so the numbers are the same model's.
NO_GGUF_LOADER = {"mixtral_moe", "qwen2_moe"}

ARCH = {"LlamaForCausalLM": "llama", "MixtralForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2",
        "Qwen2MoeForCausalLM": "qwen2moe"}


def permute(w, n_head, n_head_kv):
    """convert_hf_to_gguf.py LlamaModel.permute: HF rotate-half rows -> interleaved pairs."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape))


def gguf_name(hf, arch):
    """llama.cpp's tensor name for an HF tensor name (None: handled by the caller)."""
    if hf == "model.embed_tokens.weight":
        return "token_embd.weight"
    if hf == "model.norm.weight":
        return "output_norm.weight"
    if hf == "lm_head.weight":
        return "output.weight"
    parts = hf.split(".")
    layer, rest, suffix = parts[2], ".".join(parts[3:-1]), parts[-1]
    table = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
             "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
             "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
             "mlp.down_proj": "ffn_down", "block_sparse_moe.gate": "ffn_gate_inp", "mlp.gate": "ffn_gate_inp",
             "mlp.shared_expert_gate": "ffn_gate_inp_shexp", "mlp.shared_expert.gate_proj": "ffn_gate_shexp",
             "mlp.shared_expert.up_proj": "ffn_up_shexp", "mlp.shared_expert.down_proj": "ffn_down_shexp"}
    if rest in table:
        return f"blk.{layer}.{table[rest]}.{suffix}"
    return None


def write_gguf(model, fmt, path, mutate=None):
    src = os.path.join(mg.GOLDEN_DIR, model)
    config = json.load(open(os.path.join(src, "config.json")))
    tok = json.load(open(os.path.join(src, "tokenizer.json")))
    arch = ARCH[config["architectures"][0]]
    qtype = FORMATS[fmt]
    heads, kv_heads = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    w = gguf.GGUFWriter(path, arch)
    w.add_name(f"attnserve golden {model}")
    w.add_context_length(config["max_position_embeddings"])
    w.add_embedding_length(config["hidden_size"])
    w.add_block_count(config["num_hidden_layers"])
    w.add_feed_forward_length(config["intermediate_size"])
    w.add_head_count(heads)
    w.add_head_count_kv(kv_heads)
    w.add_rope_dimension_count(head_dim)
    if head_dim != config["hidden_size"] // heads:
        w.add_key_length(head_dim)
        w.add_value_length(head_dim)
    w.add_rope_freq_base((config.get("rope_parameters") or {}).get("rope_theta", config.get("rope_theta", 10000.0)))
    w.add_layer_norm_rms_eps(config["rms_norm_eps"])
    w.add_vocab_size(config["vocab_size"])
    w.add_file_type(int(qtype) if qtype not in (Q.F32, Q.F16, Q.BF16) else {Q.F32: 0, Q.F16: 1, Q.BF16: 32}[qtype])
    moe = "num_local_experts" in config or "num_experts" in config
    if moe:
        w.add_expert_count(config.get("num_local_experts") or config["num_experts"])
        w.add_expert_used_count(config["num_experts_per_tok"])
        if arch == "qwen2moe":
            w.add_expert_feed_forward_length(config["moe_intermediate_size"])
            w.add_expert_shared_feed_forward_length(config.get("shared_expert_intermediate_size", 0))
    # Vocabulary as llama.cpp's "gpt2" model: ids in order, added tokens as control tokens.
    vocab = sorted(tok["model"]["vocab"].items(), key=lambda kv: kv[1])
    tokens = [t for t, _ in vocab]
    types = [gguf.TokenType.NORMAL] * len(tokens)
    for a in tok.get("added_tokens", []):
        while a["id"] >= len(tokens):
            tokens.append(f"[PAD{len(tokens)}]")
            types.append(gguf.TokenType.UNUSED)
        tokens[a["id"]] = a["content"]
        types[a["id"]] = gguf.TokenType.CONTROL if a.get("special") else gguf.TokenType.USER_DEFINED
    while len(tokens) < config["vocab_size"]:
        tokens.append(f"[PAD{len(tokens)}]")
        types.append(gguf.TokenType.UNUSED)
    merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"].get("merges", [])]
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("default")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(merges)
    if config.get("bos_token_id") is not None:
        w.add_bos_token_id(config["bos_token_id"])
    eos = config.get("eos_token_id")
    if eos is not None:
        w.add_eos_token_id(eos[0] if isinstance(eos, list) else eos)

    tensors = load_file(os.path.join(src, "model.safetensors"))

    def add(name, a):
        a = a.astype(np.float32)
        quantize = a.ndim >= 2 and "ffn_gate_inp" not in name  # routers stay f32, as in llama.cpp
        t = qtype if quantize else Q.F32
        if t == Q.F32:
            w.add_tensor(name, a)
        elif t == Q.F16:
            w.add_tensor(name, a.astype(np.float16))
        else:
            w.add_tensor(name, gguf.quants.quantize(a, t), raw_dtype=t)

    experts = {}
    for hf, a in tensors.items():
        if ".experts." in hf:  # model.layers.L.<block>.experts.E.<proj>.weight
            parts = hf.split(".")
            layer, e, proj = int(parts[2]), int(parts[5]), parts[6]
            proj = {"w1": "gate", "w2": "down", "w3": "up"}.get(proj, proj.replace("_proj", ""))
            experts.setdefault((layer, proj), {})[e] = a
            continue
        name = gguf_name(hf, arch)
        if name is None:
            raise SystemExit(f"{model}: no GGUF name for {hf}")
        if arch == "llama" and name.endswith("attn_q.weight"):
            a = permute(a, heads, heads)
        elif arch == "llama" and name.endswith("attn_k.weight"):
            a = permute(a, heads, kv_heads)
        add(name, a)
    for (layer, proj), by_e in sorted(experts.items()):
        add(f"blk.{layer}.ffn_{proj}_exps.weight", np.stack([by_e[e] for e in sorted(by_e)]))
    if mutate:
        mutate(w)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return config


def drop_tensors(keep):
    def mutate(w):
        for name in list(w.tensors[0]):
            if not keep(name):
                del w.tensors[0][name]
    return mutate


def set_kv(key, value=None, vtype=None):
    def mutate(w):
        drop_tensors(lambda n: n in ("token_embd.weight", "output.weight"))(w)
        if value is None:
            del w.kv_data[0][key]
        else:
            w.kv_data[0][key] = gguf.GGUFValue(value=value, type=vtype)
    return mutate


def add_q2k(w):
    drop_tensors(lambda n: n == "token_embd.weight")(w)
    w.add_tensor("blk.0.attn_q.weight", np.zeros((64, 84), np.uint8), raw_dtype=Q.Q2_K)


def add_rope_freqs(w):
    drop_tensors(lambda n: n == "token_embd.weight")(w)
    w.add_tensor("rope_freqs.weight", np.ones(8, np.float32))


S, U = gguf.GGUFValueType.STRING, gguf.GGUFValueType.UINT32
# Bad model files (tests/golden/gguf_models/bad/<name>.gguf): the start-up error each must give,
# by a fragment of its message (cases.json). All but the missing tensor are metadata-only files.
BAD_CASES = [
    ("unknown_architecture", set_kv("general.architecture", "gpt2", S),
     "metadata 'general.architecture' is \"gpt2\" (supported: llama, qwen2, qwen2moe)"),
    ("missing_embedding_length", set_kv("llama.embedding_length"),
     "required metadata 'llama.embedding_length' is missing"),
    ("string_head_count", set_kv("llama.attention.head_count", "four", S),
     "metadata 'llama.attention.head_count' must be an integer"),
    ("zero_block_count", set_kv("llama.block_count", 0, U), "metadata 'llama.block_count' must be > 0"),
    ("partial_rotary", set_kv("llama.rope.dimension_count", 8, U), "partial rotary embeddings are not supported"),
    ("unknown_rope_scaling", set_kv("llama.rope.scaling.type", "su", S), "'llama.rope.scaling.type' is \"su\""),
    ("rope_freqs", add_rope_freqs, "tensor 'rope_freqs.weight'"),
    ("q2_k_tensor", add_q2k, "tensor 'blk.0.attn_q.weight' has ggml type Q2_K"),
    ("missing_tensor", drop_tensors(lambda n: n != "blk.1.attn_v.weight"),
     "tensor 'model.layers.1.self_attn.v_proj.weight' not found"),
]


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    bad_dir = os.path.join(OUT_DIR, "bad")
    os.makedirs(bad_dir, exist_ok=True)
    cases = []
    for name, mutate, fragment in BAD_CASES:
        write_gguf("llama_gqa", "q4_0", os.path.join(bad_dir, name + ".gguf"), mutate)
        cases.append({"file": name + ".gguf", "error": fragment})
    with open(os.path.join(bad_dir, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    for model, fmt in CASES:
        name = f"{model}_{fmt}"
        path = os.path.join(OUT_DIR, name + ".gguf")
        write_gguf(model, fmt, path)
        golden = json.load(open(os.path.join(mg.GOLDEN_DIR, model, "golden.json")))
        if model in NO_GGUF_LOADER:
            ref = json.load(open(os.path.join(mg.GOLDEN_DIR, model, f"golden_{fmt}.json")))
            ref.update({"source": model, "format": fmt, "reference": f"tests/golden/models/{model}/golden_{fmt}.json"})
            with open(os.path.join(OUT_DIR, name + ".json"), "w") as f:
                json.dump(ref, f)
            print(f"{name}: {os.path.getsize(path)} bytes, reference golden_{fmt}.json of {model}")
            continue
        kwargs = {"experts_implementation": "eager"} if "moe" in model else {}
        hf = transformers.AutoModelForCausalLM.from_pretrained(
            OUT_DIR, gguf_file=name + ".gguf", dtype=torch.float32, attn_implementation="eager", **kwargs).eval()
        case = golden["logits_cases"][0]
        with torch.no_grad():
            logits = hf(torch.tensor([case["input_ids"]])).logits[0].float().flatten().tolist()
        greedy_cases, margin = [], float("inf")
        for c in golden["greedy_cases"]:
            gen, m = mg.greedy(hf, c["prompt_ids"], len(c["generated_ids"]))
            greedy_cases.append({"prompt_ids": c["prompt_ids"], "generated_ids": gen})
            margin = min(margin, m)
        with open(os.path.join(OUT_DIR, name + ".json"), "w") as f:
            f.write("{" + ", ".join([
                f'"source": "{model}"', f'"format": "{fmt}"',
                f'"transformers_version": "{transformers.__version__}"', f'"torch_version": "{torch.__version__}"',
                f'"min_top2_margin": {margin:.7g}']) + ",\n")
            f.write('"logits_cases": [' + json.dumps({"input_ids": case["input_ids"]})[:-1] +
                    ', "logits": ' + mg.fmt_floats(logits) + "}],\n")
            f.write('"greedy_cases": [' + ",\n".join(json.dumps(c) for c in greedy_cases) + "]}\n")
        same = sum(1 for c, g in zip(greedy_cases, golden["greedy_cases"]) if c["generated_ids"] == g["generated_ids"])
        print(f"{name}: {os.path.getsize(path)} bytes, min_top2_margin {margin:.3g}, "
              f"{same}/{len(greedy_cases)} greedy continuations equal the float32 model's")


if __name__ == "__main__":
    main()


def smollm2_golden(gguf_path):
    """Opt-in golden of the real default model (tests/engine/gguf_golden_test.cc, SmolLM2OptIn):
    transformers' chat rendering, prompt ids and greedy reply ids on the Q4_1 file itself.
        /tmp/venv/bin/python -c 'import make_gguf_golden as g; g.smollm2_golden(PATH)'  (from tools/)"""
    d, f = os.path.dirname(gguf_path), os.path.basename(gguf_path)
    tok = transformers.AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = transformers.AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32).eval()
    cases = []
    for question in ["What is the capital of France?", "Name three colours.", "Write a haiku about the sea."]:
        messages = [{"role": "user", "content": question}]
        prompt = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tok(prompt, add_special_tokens=False)["input_ids"]
        gen, margin = mg.greedy(model, ids, 16)
        cases.append({"messages": messages, "prompt": prompt, "prompt_ids": ids, "generated_ids": gen,
                      "text": tok.decode(gen), "min_top2_margin": margin})
        print(question, "->", repr(tok.decode(gen)), f"margin {margin:.3g}")
    out = os.path.join(OUT_DIR, os.path.join("smollm2", "greedy.json"))
    with open(out, "w") as fh:
        json.dump({"file": f, "transformers_version": transformers.__version__, "cases": cases}, fh, indent=1)

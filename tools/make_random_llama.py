#!/usr/bin/env python3
"""Writes a random-weight LlamaForCausalLM model directory of a chosen size, for benchmarks (not committed).

numpy only (no torch): config.json + model.safetensors (written by hand) + generation_config.json +
tokenizer.json (copied from models/tiny-llama; ids past its vocab are never produced from text, which is
fine for load/throughput benchmarks).

    python3 tools/make_random_llama.py --out /tmp/llama-100m             # ~103M params, f32 (~395 MiB)
    python3 tools/make_random_llama.py --out /tmp/l --dtype bf16 --layers 4 --seed 1

Defaults (hidden 768, 12 layers, 12 heads, 4 kv heads, intermediate 1280, vocab 32000, untied) give
~103M parameters. Weights are N(0, 0.02) except norm weights (1.0); the layout matches what
transformers' save_pretrained writes, so transformers can load the result too.
"""

import argparse
import json
import os
import shutil

import numpy as np

from safetensors_writer import CONFIG_DTYPE, SAFETENSORS_DTYPE, write_safetensors

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER_SRC = os.path.join(REPO, "models", "tiny-llama")



def tensor_shapes(a):
    """(name, shape) of every tensor, in save_pretrained order."""
    head_dim = a.hidden // a.heads
    shapes = [("model.embed_tokens.weight", (a.vocab, a.hidden))]
    for i in range(a.layers):
        p = f"model.layers.{i}."
        shapes += [
            (p + "input_layernorm.weight", (a.hidden,)),
            (p + "self_attn.q_proj.weight", (a.heads * head_dim, a.hidden)),
            (p + "self_attn.k_proj.weight", (a.kv_heads * head_dim, a.hidden)),
            (p + "self_attn.v_proj.weight", (a.kv_heads * head_dim, a.hidden)),
            (p + "self_attn.o_proj.weight", (a.hidden, a.heads * head_dim)),
            (p + "post_attention_layernorm.weight", (a.hidden,)),
            (p + "mlp.gate_proj.weight", (a.intermediate, a.hidden)),
            (p + "mlp.up_proj.weight", (a.intermediate, a.hidden)),
            (p + "mlp.down_proj.weight", (a.hidden, a.intermediate)),
        ]
    shapes += [("model.norm.weight", (a.hidden,)), ("lm_head.weight", (a.vocab, a.hidden))]
    return shapes


def make_tensor(rng, name, shape):
    if name.endswith("norm.weight"):
        return np.ones(shape, dtype=np.float32)
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)


def write_model_safetensors(path, args, shapes):
    rng = np.random.default_rng(args.seed)
    return write_safetensors(path, args.dtype, shapes, lambda name, shape: make_tensor(rng, name, shape))


def write_config(out, args):
    tok = json.load(open(os.path.join(TOKENIZER_SRC, "generation_config.json")))
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "attention_bias": False, "attention_dropout": 0.0, "mlp_bias": False,
        "bos_token_id": tok["bos_token_id"], "eos_token_id": tok["eos_token_id"], "pad_token_id": None,
        "dtype": CONFIG_DTYPE[args.dtype], "head_dim": args.hidden // args.heads, "hidden_act": "silu",
        "hidden_size": args.hidden, "initializer_range": 0.02, "intermediate_size": args.intermediate,
        "max_position_embeddings": args.max_positions, "num_attention_heads": args.heads,
        "num_hidden_layers": args.layers, "num_key_value_heads": args.kv_heads,
        "rms_norm_eps": 1e-5, "rope_parameters": {"rope_theta": args.rope_theta, "rope_type": "default"},
        "tie_word_embeddings": False, "use_cache": True, "vocab_size": args.vocab,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": tok["bos_token_id"], "eos_token_id": tok["eos_token_id"]}, f, indent=2)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="output model directory (created)")
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--kv_heads", type=int, default=4)
    ap.add_argument("--intermediate", type=int, default=1280)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--max_positions", type=int, default=4096)
    ap.add_argument("--rope_theta", type=float, default=10000.0)
    ap.add_argument("--dtype", choices=sorted(SAFETENSORS_DTYPE), default="f32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if args.hidden % args.heads or args.heads % args.kv_heads:
        ap.error("hidden must be a multiple of heads, and heads a multiple of kv_heads")

    tok_vocab = len(json.load(open(os.path.join(TOKENIZER_SRC, "tokenizer.json")))["model"]["vocab"])
    if args.vocab < tok_vocab:
        ap.error(f"--vocab must be >= {tok_vocab}, the size of the copied tokenizer's vocabulary")
    os.makedirs(args.out, exist_ok=True)
    shapes = tensor_shapes(args)
    nbytes = write_model_safetensors(os.path.join(args.out, "model.safetensors"), args, shapes)
    write_config(args.out, args)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        src = os.path.join(TOKENIZER_SRC, name)
        if os.path.exists(src):
            shutil.copy(src, os.path.join(args.out, name))
    nparams = sum(int(np.prod(s)) for _, s in shapes)
    print(f"{args.out}: {nparams / 1e6:.1f}M params, {args.dtype}, {nbytes / 2**20:.0f} MiB of weights")


if __name__ == "__main__":
    main()

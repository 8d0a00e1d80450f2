#!/usr/bin/env python3
"""Writes a random-weight MambaForCausalLM model directory of a chosen size, for benchmarks (not committed).

numpy only (no torch): config.json + model.safetensors (written by hand) + generation_config.json +
tokenizer.json (copied from models/tiny-llama; ids past its vocab are never produced from text, which is
fine for load/throughput benchmarks). Tensor names and shapes follow transformers' MambaForCausalLM
(backbone.embeddings, backbone.layers.N.{norm, mixer.*}, backbone.norm_f, lm_head unless tied).

    python3 tools/make_random_mamba.py --out /tmp/attnserve-mamba100m     # ~102M params, f32, untied
    python3 tools/make_random_mamba.py --out /tmp/m --layers 24 --tied    # the "24-layer, tied" variant

Defaults (hidden 768, 14 layers, state 16, expand 2, conv 4, dt rank 48, vocab 32000, untied) are
chosen against tools/make_random_llama.py's default (~103.4M params, untied): the total parameter
count is within ~2% of it, and so is what one decode step reads (every layer matrix + lm_head, but
only one embedding row): 77.4M vs 78.8M weights. A 24-layer tied Mamba (the HF default layout) would
have 115M parameters and read all of them each step (+46% bytes vs the Llama), which would make the
decode comparison a comparison of model sizes.

Initialisation (so that the selective scan is numerically sane, as in mamba_ssm / transformers):
A_log[i, :] = log(1..N), D = 1, dt_proj.bias = softplus^-1(dt) with dt log-uniform in
[dt_min, dt_max] = [1e-3, 1e-1], dt_proj.weight ~ U(-R^-0.5, R^-0.5), conv1d.bias = 0,
norm weights 1, everything else N(0, 0.02).
"""

import argparse
import json
import math
import os
import shutil

import numpy as np

from safetensors_writer import CONFIG_DTYPE, SAFETENSORS_DTYPE, write_safetensors

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER_SRC = os.path.join(REPO, "models", "tiny-llama")



def dt_rank(a):
    return a.time_step_rank if a.time_step_rank > 0 else math.ceil(a.hidden / 16)


def tensor_shapes(a):
    """(name, shape) of every tensor, in save_pretrained order."""
    H, I, N, K, R = a.hidden, a.expand * a.hidden, a.state, a.conv_kernel, dt_rank(a)
    shapes = [("backbone.embeddings.weight", (a.vocab, H))]
    for i in range(a.layers):
        p = f"backbone.layers.{i}."
        m = p + "mixer."
        shapes += [
            (p + "norm.weight", (H,)),
            (m + "A_log", (I, N)),
            (m + "D", (I,)),
            (m + "conv1d.weight", (I, 1, K)),
            (m + "conv1d.bias", (I,)),
            (m + "in_proj.weight", (2 * I, H)),
            (m + "x_proj.weight", (R + 2 * N, I)),
            (m + "dt_proj.weight", (I, R)),
            (m + "dt_proj.bias", (I,)),
            (m + "out_proj.weight", (H, I)),
        ]
    shapes.append(("backbone.norm_f.weight", (H,)))
    if not a.tied:
        shapes.append(("lm_head.weight", (a.vocab, H)))
    return shapes


def make_tensor(rng, name, shape, a):
    if name.endswith("norm.weight") or name.endswith("norm_f.weight"):
        return np.ones(shape, dtype=np.float32)
    if name.endswith("A_log"):  # S4D-real: A[i, n] = -(n + 1)
        return np.log(np.broadcast_to(np.arange(1, shape[1] + 1, dtype=np.float32), shape)).astype(np.float32)
    if name.endswith(".D"):
        return np.ones(shape, dtype=np.float32)
    if name.endswith("conv1d.bias"):
        return np.zeros(shape, dtype=np.float32)
    if name.endswith("dt_proj.bias"):
        dt = np.exp(rng.uniform(math.log(a.dt_min), math.log(a.dt_max), shape))
        dt = np.maximum(dt, 1e-4)
        return (dt + np.log(-np.expm1(-dt))).astype(np.float32)  # inverse softplus
    if name.endswith("dt_proj.weight"):
        bound = dt_rank(a) ** -0.5
        return rng.uniform(-bound, bound, shape).astype(np.float32)
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype(np.float32)


def write_model_safetensors(path, args, shapes):
    rng = np.random.default_rng(args.seed)
    return write_safetensors(path, args.dtype, shapes, lambda name, shape: make_tensor(rng, name, shape, args))


def write_config(out, args):
    tok = json.load(open(os.path.join(TOKENIZER_SRC, "generation_config.json")))
    config = {
        "architectures": ["MambaForCausalLM"], "model_type": "mamba",
        "bos_token_id": tok["bos_token_id"], "eos_token_id": tok["eos_token_id"], "pad_token_id": None,
        "dtype": CONFIG_DTYPE[args.dtype], "hidden_act": "silu",
        "hidden_size": args.hidden, "intermediate_size": args.expand * args.hidden, "expand": args.expand,
        "state_size": args.state, "conv_kernel": args.conv_kernel, "time_step_rank": dt_rank(args),
        "time_step_min": args.dt_min, "time_step_max": args.dt_max, "time_step_init_scheme": "random",
        "time_step_scale": 1.0, "time_step_floor": 1e-4,
        "num_hidden_layers": args.layers, "layer_norm_epsilon": 1e-5, "initializer_range": 0.02,
        "use_bias": False, "use_conv_bias": True, "residual_in_fp32": True, "rescale_prenorm_residual": False,
        "tie_word_embeddings": args.tied, "use_cache": True, "vocab_size": args.vocab,
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
    ap.add_argument("--layers", type=int, default=14)
    ap.add_argument("--state", type=int, default=16, help="SSM state size N")
    ap.add_argument("--expand", type=int, default=2, help="intermediate = expand * hidden")
    ap.add_argument("--conv_kernel", type=int, default=4)
    ap.add_argument("--time_step_rank", type=int, default=0, help="0 = ceil(hidden / 16)")
    ap.add_argument("--dt_min", type=float, default=1e-3)
    ap.add_argument("--dt_max", type=float, default=1e-1)
    ap.add_argument("--vocab", type=int, default=32000)
    ap.add_argument("--tied", action="store_true", help="tie lm_head to the embeddings (no lm_head.weight)")
    ap.add_argument("--dtype", choices=sorted(SAFETENSORS_DTYPE), default="f32")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if not 2 <= args.conv_kernel <= 8:
        ap.error("--conv_kernel must be 2..8")

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
    embed = args.vocab * args.hidden
    # One decode step reads every matrix once, lm_head included, but only one embedding row.
    read = nparams - (0 if args.tied else embed)
    I = args.expand * args.hidden
    state = args.layers * I * (args.state + args.conv_kernel - 1)
    print(f"{args.out}: {nparams / 1e6:.1f}M params ({'tied' if args.tied else 'untied'}, "
          f"{(nparams - embed * (1 if args.tied else 2)) / 1e6:.1f}M outside embeddings/lm_head), "
          f"{read / 1e6:.1f}M read per decode step, {args.dtype}, {nbytes / 2**20:.0f} MiB of weights; "
          f"recurrent state {state * 4 / 1e6:.2f} MB/sequence (f32)")


if __name__ == "__main__":
    main()

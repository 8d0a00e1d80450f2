#!/usr/bin/env python3
"""Builds the tiny random-weight Hugging Face models and golden outputs attnserve is tested against.

Run from anywhere (CPU only, ~6 minutes, most of it the seed search of the three SSM models):

    python3 tools/make_golden_models.py            # regenerate everything
    python3 tools/make_golden_models.py llama_gqa  # only the named model(s); "tiny-llama" for models/tiny-llama

Writes, for each model in tests/golden/models/<name>/:
    config.json, model.safetensors (or shards + model.safetensors.index.json), generation_config.json,
    tokenizer.json (+ tokenizer_config.json), golden.json
and models/tiny-llama/ (the default model the daemon serves when no --model is given; no golden.json).

Models (all vocab 512, hidden 64; see model_specs for the details):
    llama_gqa, llama_tied, qwen2_bias, mistral_bf16_sharded, mistral_window, qwen2_layer_window:
        dense attention decoders (GQA, tied lm_head, q/k/v biases, bf16 shards, sliding windows);
    mixtral_moe, qwen2_moe: mixture of experts;
    mamba_tiny (MambaForCausalLM, 2 layers, tied lm_head), mamba2_tiny (Mamba2ForCausalLM, 2 layers,
        8 heads x 16, 2 groups, SSD chunk_size 16), jamba_tiny (JambaForCausalLM, 4 layers: mamba, mamba+MoE,
        attention, mamba+MoE; 4 experts top-2): SSM and hybrid models. These three have 64 greedy tokens
        per prompt instead of 32 and a third, long greedy prompt (LONG_PROMPTS, 205 tokens: many Mamba-2
        chunks and many engine prefill chunks), and randomised A_log / D / dt bias / conv bias /
        out_proj (randomise_ssm) so that the recurrent state matters over a long range.

golden.json:
    {"transformers_version", "torch_version", "model_class", "seed",
     "logits_cases": [{"input_ids": [T ids], "logits": [T*V floats, row-major f32 [T, V]]}],
     "greedy_cases": [{"prompt_ids": [...], "generated_ids": [32 ids (64 for the SSM models)]}],
                                                   # plain argmax, EOS not special
     "min_top2_margin": min over all greedy steps of (top1 - top2 logit),
     "min_routing_gap": (MoE models only) min over tokens and MoE layers of the gap between the k-th and
                        (k+1)-th router probability (k = num_experts_per_tok)}
The reference logits come from the model as re-loaded from the written files, computed in float32 with
eager attention (for mistral_bf16_sharded: the bf16 weights upcast to f32, as attnserve computes).
A seed is accepted only when every greedy step is decisive (min_top2_margin >= MIN_MARGIN); otherwise
the next seed is tried, so greedy tokens are comparable across implementations. For MoE models a seed
must also route decisively (min_routing_gap >= MIN_ROUTING_GAP over the greedy prompts + generations and
the logits inputs) and send some of those tokens to every expert of every MoE layer; their reference
uses the eager (per-expert loop) experts implementation. (jamba_tiny's threshold is 1e-4: its 2 MoE
layers see ~500 tokens each, and in a scan of 50 seeds the best gap was 5.5e-4; 1e-4 is still ~100x
float32 noise.)
Every greedy case is also run through HF generate(), which prefills once and then decodes from its cache
(KV cache; conv + SSM state for Mamba layers); its tokens must equal the full-forward argmax loop, and the
max |logit| difference between its per-step logits and the full forward pass is printed (and must be
< 1e-3).

The SSM reference is transformers' pure-PyTorch path: with `mamba-ssm` / `causal-conv1d` not installed and
no Hub kernels (use_kernels=False), Mamba and Jamba run the sequential selective-scan loop (prefill /
full forward) and the single-step selective_state_update (decode), Mamba-2 the chunked SSD scan
(mamba2_chunk_scan) and its single-step update; the causal conv1d is F.conv1d. check_pure_torch_ssm
verifies this (the script stops if either package is importable).

The committed files were produced with: torch 2.15.0+cu132, transformers 5.24.0, tokenizers 0.23.3,
safetensors 0.8.0 (Python 3.11, Debian 12, CPU). The script is deterministic: rerunning it with the same
versions reproduces the same files.
"""

import glob
import importlib.util
import inspect
import json
import math
import os
import shutil
import sys
import tempfile

import tokenizers
import torch
import transformers
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN_DIR = os.path.join(REPO, "tests", "golden", "models")
TINY_LLAMA_DIR = os.path.join(REPO, "models", "tiny-llama")

BOS, EOS = "<|begin_of_text|>", "<|end_of_text|>"
# Llama-3's pre-tokenizer split pattern.
LLAMA3_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
TRAIN_FILES = sorted(glob.glob("/usr/share/common-licenses/*"))

INIT_STD = 0.2        # weight std: peaked logits, decisive greedy choices
MIN_MARGIN = 1e-2     # required min top1-top2 logit gap over greedy steps (brief asks > 1e-3)
MIN_ROUTING_GAP = 1e-3  # MoE: required min gap between the k-th and (k+1)-th router probability
                        # (a model's extra "min_routing_gap" overrides it)
NUM_NEW_TOKENS = 32   # greedy tokens per prompt (a model's extra "num_new_tokens" overrides it)
MAX_SEEDS = 200       # seeds tried per model (base_seed .. base_seed + MAX_SEEDS - 1; the first good one wins)

PROMPTS = [
    "The GNU General Public License is a free, copyleft license for software",
    "Permission is hereby granted, free of charge, to any person obtaining a copy of this software",
]
# Extra greedy prompts for the models with extra "long_prompts" (the SSM / hybrid models): long
# enough (205 tokens) to span many Mamba-2 SSD chunks (chunk_size 16) and many engine prefill chunks
# (the batched golden test prefills in chunks of 5 tokens), so the state is carried across both.
LONG_PROMPTS = [
    "The licenses for most software and other practical works are designed to take away your freedom to "
    "share and change the works.  By contrast, the GNU General Public License is intended to guarantee "
    "your freedom to share and change all versions of a program--to make sure it remains free software "
    "for all its users.  We, the Free Software Foundation, use the GNU General Public License for most of "
    "our software; it applies also to any other work released this way by its authors.  You can apply it "
    "to your programs, too.",
]
LOGITS_TEXTS = [
    "Licensed under the Apache License, Version 2.0 (the \"License\"); you may not",
    "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT "
    "NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND "
    "NONINFRINGEMENT. 1234567 naïve café — ünïcödé ✓",
]


def train_tokenizer(vocab_size):
    """Byte-level BPE in the shape of Llama-3's tokenizer.json; BOS=0, EOS=1."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_SPLIT), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=[BOS, EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train(TRAIN_FILES, trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B",
                                      special_tokens=[(BOS, bos_id)]),
    ])
    assert tok.get_vocab_size() <= vocab_size, tok.get_vocab_size()
    return tok


def write_tokenizer(tok, out_dir):
    tok.save(os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": BOS, "eos_token": EOS,
                   "add_bos_token": True, "clean_up_tokenization_spaces": False,
                   "model_max_length": 1 << 20}, f, indent=2)
        f.write("\n")


# The Mamba / hybrid models: randomised SSM parameters, 64 greedy tokens, the long prompts too.
SSM_EXTRA = {"ssm_init": True, "num_new_tokens": 64, "long_prompts": True}


# name -> (model class name, config kwargs, extra: dtype on disk, max shard size, random biases,
#          moe: check the router's top-k choices are decisive and reload with eager experts,
#          num_new_tokens: greedy tokens per prompt instead of NUM_NEW_TOKENS,
#          long_prompts: also a greedy case per LONG_PROMPTS entry,
#          min_routing_gap: MoE threshold instead of MIN_ROUTING_GAP,
#          ssm_init: randomise the Mamba mixers' A_log, D, dt bias, conv bias and out_proj, see randomise_ssm)
def model_specs(bos_id, eos_id):
    common = dict(vocab_size=512, initializer_range=INIT_STD, bos_token_id=bos_id,
                  eos_token_id=eos_id, pad_token_id=None, hidden_act="silu")
    return {
        "llama_gqa": ("LlamaForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=160, rms_norm_eps=1e-5, max_position_embeddings=256,
            rope_parameters={"rope_type": "default", "rope_theta": 50000.0},
            tie_word_embeddings=False), {}),
        "qwen2_bias": ("Qwen2ForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=128, rms_norm_eps=1e-6, max_position_embeddings=256,
            rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            use_sliding_window=False, sliding_window=None, max_window_layers=2,
            tie_word_embeddings=False), {"random_biases": True}),
        "llama_tied": ("LlamaForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            head_dim=32, intermediate_size=160, rms_norm_eps=1e-5, max_position_embeddings=256,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            tie_word_embeddings=True), {}),
        "mistral_bf16_sharded": ("MistralForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=128, rms_norm_eps=1e-5, max_position_embeddings=256,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            sliding_window=None, tie_word_embeddings=False),
            {"save_dtype": torch.bfloat16, "max_shard_size": "64KB"}),
        # Sliding window of 8 on sequences of up to 40 + 32 tokens: several windows long.
        "mistral_window": ("MistralForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=128, rms_norm_eps=1e-5, max_position_embeddings=256,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            sliding_window=8, tie_word_embeddings=False), {}),
        # A static per-layer schedule: Qwen2's max_window_layers makes layer 0 full attention and
        # layers 1..2 slide over 6 tokens (HF layer_types = [full, sliding, sliding]).
        "qwen2_layer_window": ("Qwen2ForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=128, rms_norm_eps=1e-6, max_position_embeddings=256,
            rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            use_sliding_window=True, sliding_window=6, max_window_layers=1,
            tie_word_embeddings=False), {}),
        # Mixture of experts (Mixtral): 4 experts, top-2, renormalised top-k weights. Saved in the
        # per-expert checkpoint layout (block_sparse_moe.gate, block_sparse_moe.experts.E.w1/w2/w3).
        "mixtral_moe": ("MixtralForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            num_local_experts=4, num_experts_per_tok=2, intermediate_size=96, rms_norm_eps=1e-5,
            max_position_embeddings=256, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
            sliding_window=None, router_jitter_noise=0.0, tie_word_embeddings=False), {"moe": True}),
        # Mixture of experts (Qwen1.5-MoE): 6 routed experts (top-2, NOT renormalised:
        # norm_topk_prob=False) + a sigmoid-gated shared expert; layer 1 is a dense MLP (mlp_only_layers),
        # layers 0 and 2 are MoE. q/k/v biases as Qwen2-MoE (qkv_bias=True), randomised.
        "qwen2_moe": ("Qwen2MoeForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
            num_experts=6, num_experts_per_tok=2, moe_intermediate_size=48,
            shared_expert_intermediate_size=80, intermediate_size=128, decoder_sparse_step=1,
            mlp_only_layers=[1], norm_topk_prob=False, qkv_bias=True, rms_norm_eps=1e-6,
            max_position_embeddings=256, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0},
            use_sliding_window=False, sliding_window=None, max_window_layers=3,
            tie_word_embeddings=False), {"moe": True, "random_biases": True}),
        # Mamba (selective SSM, no attention): d_inner = expand * hidden = 128, dt_rank = ceil(64/16) = 4,
        # depthwise causal conv of width 4 with bias, no in/out projection bias, lm_head tied to the
        # embeddings (HF default for Mamba).
        "mamba_tiny": ("MambaForCausalLM", dict(
            common, hidden_size=64, state_size=16, num_hidden_layers=2, expand=2, conv_kernel=4,
            time_step_rank="auto", use_conv_bias=True, use_bias=False, layer_norm_epsilon=1e-5,
            tie_word_embeddings=True), SSM_EXTRA),
        # Mamba-2 (SSD): d_inner 128 = 8 heads x head_dim 16, 2 groups of B/C (state 16), conv over
        # x|B|C (conv_dim 128 + 2*2*16 = 192), gated RMSNorm per group, SSD chunk length 16 so the prompts
        # span several chunks. Untied lm_head. time_step_limit left at the default (0, inf).
        "mamba2_tiny": ("Mamba2ForCausalLM", dict(
            common, hidden_size=64, expand=2, head_dim=16, num_heads=8, n_groups=2, state_size=16,
            conv_kernel=4, chunk_size=16, num_hidden_layers=2, use_conv_bias=True, use_bias=False,
            layer_norm_epsilon=1e-5, tie_word_embeddings=False), SSM_EXTRA),
        # Jamba (hybrid): layers [mamba, mamba, attention, mamba] (attn_layer_period 4, offset 2); MoE
        # feed-forward on layers 1 and 3 (expert_layer_period 2, offset 1: 4 experts, top-2, softmax
        # top-k weights NOT renormalised), dense SwiGLU MLP on layers 0 and 2. The Mamba mixers RMS-norm
        # dt, B and C (dt_layernorm/b_layernorm/c_layernorm); the attention layer has no positional
        # encoding. Untied lm_head.
        "jamba_tiny": ("JambaForCausalLM", dict(
            common, hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=96, attn_layer_period=4, attn_layer_offset=2, expert_layer_period=2,
            expert_layer_offset=1, num_experts=4, num_experts_per_tok=2, mamba_d_state=16,
            mamba_d_conv=4, mamba_expand=2, mamba_dt_rank="auto", mamba_conv_bias=True,
            mamba_proj_bias=False, rms_norm_eps=1e-6, max_position_embeddings=512,
            tie_word_embeddings=False), dict(SSM_EXTRA, moe=True, min_routing_gap=1e-4)),
    }


def tiny_llama_spec(bos_id, eos_id):
    return ("LlamaForCausalLM", dict(
        vocab_size=1024, initializer_range=INIT_STD, bos_token_id=bos_id, eos_token_id=eos_id,
        pad_token_id=None, hidden_act="silu", hidden_size=128, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, intermediate_size=352, rms_norm_eps=1e-5,
        max_position_embeddings=2048, rope_parameters={"rope_type": "default", "rope_theta": 10000.0},
        tie_word_embeddings=True), {})


def build_model(class_name, cfg_kwargs, extra, seed):
    config_cls = getattr(transformers, class_name.replace("ForCausalLM", "Config"))
    config = config_cls(**cfg_kwargs)
    torch.manual_seed(seed)
    model = getattr(transformers, class_name)(config).to(torch.float32).eval()
    with torch.no_grad():
        # Non-trivial norm weights so a missing/misapplied norm scale shows up in the goldens.
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            elif name.endswith(".bias") and extra.get("random_biases"):
                p.copy_(INIT_STD * torch.randn_like(p))
        if extra.get("ssm_init"):
            randomise_ssm(model)
    return model


def randomise_ssm(model):
    """Mamba mixers (Mamba, Mamba-2, Jamba): HF initialises A = -[1..N] (per head for Mamba-2), D = 1,
    the conv bias to 0, softplus(dt bias) to 1e-3..0.1 (Mamba, Mamba-2) or the dt bias to 0 (Jamba) and
    out_proj with a small kaiming-uniform (Mamba, Mamba-2). Randomised here so that a mistake in any of them
    shows up, and so that the recurrent state matters over a long range: A = -exp(A_log) log-uniform in
    [-8, -0.25] and softplus(dt bias) log-uniform in [0.01, 0.5] (before the input-dependent part of dt),
    so the per-token decay exp(dt * A) spans ~0.02 .. ~0.998 (neither dt ~ 0, state never written, nor
    every channel forgetting within a few tokens); out_proj ~ N(0, INIT_STD) as the other projections, so
    the mixer output is not drowned by the residual stream."""
    for name, p in model.named_parameters():
        if name.endswith(".A_log"):
            p.copy_(torch.empty_like(p).uniform_(math.log(0.25), math.log(8.0)))
        elif name.endswith(".D"):
            p.copy_(1.0 + 0.5 * torch.randn_like(p))
        elif name.endswith((".dt_proj.bias", ".dt_bias")):  # inverse softplus of dt
            dt = torch.exp(torch.empty_like(p).uniform_(math.log(0.01), math.log(0.5)))
            p.copy_(dt + torch.log(-torch.expm1(-dt)))
        elif name.endswith(".conv1d.bias"):
            p.copy_(INIT_STD * torch.randn_like(p))
        elif name.endswith(".out_proj.weight"):
            p.copy_(INIT_STD * torch.randn_like(p))


def save_model(model, out_dir, extra):
    dtype = extra.get("save_dtype", torch.float32)
    model = model.to(dtype)
    kwargs = {"safe_serialization": True}
    if "max_shard_size" in extra:
        kwargs["max_shard_size"] = extra["max_shard_size"]
    model.save_pretrained(out_dir, **kwargs)
    model.generation_config.save_pretrained(out_dir)


def load_f32(class_name, model_dir, extra):
    # MoE: the plain per-expert loop ("eager" experts), not grouped_mm, as the reference computation.
    kwargs = {"experts_implementation": "eager"} if extra.get("moe") else {}
    return getattr(transformers, class_name).from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager", **kwargs).eval()


def check_pure_torch_ssm(model):
    """The Mamba reference must be transformers' own PyTorch code: its Mamba kernels
    (selective scan / state update, causal conv1d, Mamba-2 chunk scan) come from `mamba-ssm` /
    `causal-conv1d` when importable, else from Hub kernels when loaded with use_kernels=True, else the
    PyTorch fallback in the modeling file. Check that every one of them resolved to the fallback."""
    for package in ("mamba_ssm", "causal_conv1d"):
        if importlib.util.find_spec(package) is not None:
            raise SystemExit(f"{package} is installed: uninstall it, the reference must be the PyTorch path")
    assert not model.use_kernels
    module = sys.modules[type(model).__module__]
    wrapped = {n: inspect.getclosurevars(f).nonlocals for n, f in vars(module).items()
               if inspect.isfunction(f) and "is_new_implementation" in inspect.getclosurevars(f).nonlocals}
    assert wrapped, f"no kernel-with-fallback functions found in {module.__name__}"
    assert not any(v["is_new_implementation"] for v in wrapped.values()), wrapped


@torch.no_grad()
def greedy(model, prompt_ids, n):
    """Plain argmax continuation (EOS is an ordinary token); returns ids and min top1-top2 gap."""
    ids = list(prompt_ids)
    margin = float("inf")
    for _ in range(n):
        logits = model(torch.tensor([ids])).logits[0, -1]
        top2 = torch.topk(logits, 2).values
        margin = min(margin, float(top2[0] - top2[1]))
        ids.append(int(torch.argmax(logits)))
    return ids[len(prompt_ids):], margin


@torch.no_grad()
def context_reach(model, ids):
    """How far back the context still matters (a diagnostic for the SSM models): k -> max |change| of the
    last position's logits when `ids` is cut to BOS + its last k tokens."""
    full = model(torch.tensor([ids]), use_cache=False).logits[0, -1]
    return {k: round(float((model(torch.tensor([ids[:1] + ids[-k:]]), use_cache=False).logits[0, -1]
                            - full).abs().max()), 4) for k in (4, 16, 64, 128) if k < len(ids) - 1}


@torch.no_grad()
def routing_stats(model, sequences):
    """For MoE models: per MoE layer, how many tokens each expert receives over `sequences` (full
    forward passes), and the min over all tokens/layers of the gap between the k-th and (k+1)-th router
    probability (small gaps would let float noise flip which experts a token is routed to). Works for any
    HF MoE model that returns router_logits (one [tokens, experts] tensor per MoE layer), e.g. Mixtral's
    mlp.gate, Qwen2-MoE's mlp.gate and Jamba's feed_forward.router (dense layers are not included)."""
    top_k = model.config.num_experts_per_tok
    counts, min_gap = None, float("inf")
    for ids in sequences:
        out = model(torch.tensor([ids]), output_router_logits=True)
        layers = out.router_logits
        if counts is None:
            counts = [[0] * layer.shape[-1] for layer in layers]
        for li, logits in enumerate(layers):
            probs = torch.softmax(logits.float().reshape(-1, logits.shape[-1]), dim=-1)
            top = torch.topk(probs, top_k + 1, dim=-1)
            min_gap = min(min_gap, float((top.values[:, top_k - 1] - top.values[:, top_k]).min()))
            for e in top.indices[:, :top_k].flatten().tolist():
                counts[li][e] += 1
    return counts, min_gap


@torch.no_grad()
def check_against_generate(model, prompt_ids, generated):
    """Cross-check the hand loop (a full forward pass over the whole sequence for every token) against HF
    generate() with EOS disabled, which prefills the prompt once and then decodes token by token from its
    cache (KV cache; conv + SSM state for Mamba layers). Returns the max |logit| difference between
    generate()'s per-step logits and the full forward pass's logits at the same positions."""
    ids = torch.tensor([prompt_ids])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         max_new_tokens=len(generated), eos_token_id=None, pad_token_id=None,
                         bos_token_id=None, output_logits=True, return_dict_in_generate=True)
    got = out.sequences[0, len(prompt_ids):].tolist()
    assert got == generated, f"generate() disagrees with the argmax loop: {got} vs {generated}"
    full = model(torch.tensor([prompt_ids + generated[:-1]]), use_cache=False).logits[0, len(prompt_ids) - 1:]
    cached = torch.cat([step.float() for step in out.logits])
    assert cached.shape == full.shape, (cached.shape, full.shape)
    diff = float((cached - full).abs().max())
    assert diff < 1e-3, f"generate()'s cached decode logits differ from the full forward pass by {diff}"
    return diff


def fmt_floats(values):
    return "[" + ",".join(f"{v:.7g}" for v in values) + "]"


def write_golden(path, model, class_name, seed, logits_cases, greedy_cases, margin, routing_gap=None):
    parts = [
        "{",
        f'"transformers_version": {json.dumps(transformers.__version__)},',
        f'"torch_version": {json.dumps(torch.__version__)},',
        f'"tokenizers_version": {json.dumps(tokenizers.__version__)},',
        f'"model_class": {json.dumps(class_name)},',
        f'"seed": {seed},',
        f'"vocab_size": {model.config.vocab_size},',
        '"logits_cases": [',
        ",\n".join(f'{{"input_ids": {json.dumps(c["input_ids"])},\n "logits": {fmt_floats(c["logits"])}}}'
                   for c in logits_cases),
        "],",
        '"greedy_cases": [',
        ",\n".join(json.dumps(c) for c in greedy_cases),
        "],",
        f'"min_top2_margin": {margin:.7g}' + ("" if routing_gap is None else ","),
        *([] if routing_gap is None else [f'"min_routing_gap": {routing_gap:.7g}']),
        "}",
    ]
    with open(path, "w") as f:
        f.write("\n".join(parts) + "\n")


def make_model_dir(name, spec, tok, out_dir, base_seed, with_golden):
    class_name, cfg_kwargs, extra = spec
    bos_id = tok.token_to_id(BOS)
    prompts = [tok.encode(p).ids for p in PROMPTS + (LONG_PROMPTS if extra.get("long_prompts") else [])]
    num_new = extra.get("num_new_tokens", NUM_NEW_TOKENS)
    min_routing_gap = extra.get("min_routing_gap", MIN_ROUTING_GAP)
    logits_inputs = [tok.encode(t).ids[:16] for t in LOGITS_TEXTS[:1]] + \
                    [tok.encode(LOGITS_TEXTS[1]).ids[:40]]
    assert len(logits_inputs[1]) == 40 and all(p[0] == bos_id for p in prompts)
    for seed in range(base_seed, base_seed + MAX_SEEDS):
        tmp = tempfile.mkdtemp(prefix=f"golden_{name}_")
        try:
            save_model(build_model(class_name, cfg_kwargs, extra, seed), tmp, extra)
            model = load_f32(class_name, tmp, extra)
            if extra.get("ssm_init"):
                check_pure_torch_ssm(model)
            greedy_cases, margin = [], float("inf")
            for p in prompts:
                gen, m = greedy(model, p, num_new)
                greedy_cases.append({"prompt_ids": p, "generated_ids": gen})
                margin = min(margin, m)
            if margin < MIN_MARGIN:
                print(f"  {name}: seed {seed} min_top2_margin {margin:.3g} < {MIN_MARGIN}, next seed")
                continue
            assert margin > 1e-3
            routing = None
            if extra.get("moe"):
                seqs = [c["prompt_ids"] + c["generated_ids"] for c in greedy_cases] + logits_inputs
                counts, gap = routing_stats(model, seqs)
                if gap < min_routing_gap or any(0 in c for c in counts):
                    print(f"  {name}: seed {seed} routing gap {gap:.3g}, expert tokens {counts}, next seed")
                    continue
                routing = (counts, gap)
            decode_diff = max(check_against_generate(model, c["prompt_ids"], c["generated_ids"])
                              for c in greedy_cases)
            if os.path.exists(out_dir):
                shutil.rmtree(out_dir)
            os.makedirs(os.path.dirname(out_dir), exist_ok=True)
            shutil.copytree(tmp, out_dir)
            os.chmod(out_dir, 0o755)
            for f in os.listdir(out_dir):
                os.chmod(os.path.join(out_dir, f), 0o644)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        write_tokenizer(tok, out_dir)
        if with_golden:
            with torch.no_grad():
                logits_cases = [{"input_ids": ids,
                                 "logits": model(torch.tensor([ids])).logits[0].flatten().tolist()}
                                for ids in logits_inputs]
            write_golden(os.path.join(out_dir, "golden.json"), model, class_name, seed,
                         logits_cases, greedy_cases, margin, routing[1] if routing else None)
        size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
        nparams = sum(p.numel() for p in model.parameters())
        print(f"{name}: seed {seed}, {nparams} params, min_top2_margin {margin:.4g}, "
              f"{len(os.listdir(out_dir))} files, {size / 1024:.0f} KiB -> {out_dir}")
        print(f"  greedy prompts of {[len(p) for p in prompts]} tokens + {num_new} generated; max |logit| "
              f"difference generate() (cached decode) vs full forward: {decode_diff:.3g}")
        if extra.get("long_prompts"):
            print(f"  state reach: max |last-token logit| change when the {len(prompts[-1])}-token prompt "
                  f"keeps only BOS + its last k tokens: {context_reach(model, prompts[-1])}")
        if routing:
            print(f"  routing: min k-th/(k+1)-th router prob gap {routing[1]:.4g}; tokens per expert per MoE "
                  f"layer (greedy prompts+generations and logits inputs): {routing[0]}")
        return
    raise SystemExit(f"{name}: no seed in {MAX_SEEDS} gave min_top2_margin >= {MIN_MARGIN}"
                     f"{' and decisive routing' if extra.get('moe') else ''}")


def main(argv):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    wanted = set(argv[1:])
    tok512 = train_tokenizer(512)
    specs = model_specs(tok512.token_to_id(BOS), tok512.token_to_id(EOS))
    unknown = wanted - set(specs) - {"tiny-llama"}
    if unknown:
        raise SystemExit(f"unknown model(s) {sorted(unknown)}; known: {sorted(specs)} + tiny-llama")
    for i, (name, spec) in enumerate(specs.items()):
        if not wanted or name in wanted:
            make_model_dir(name, spec, tok512, os.path.join(GOLDEN_DIR, name), 1000 * (i + 1), True)
    if not wanted or "tiny-llama" in wanted:
        tok1024 = train_tokenizer(1024)
        spec = tiny_llama_spec(tok1024.token_to_id(BOS), tok1024.token_to_id(EOS))
        make_model_dir("tiny-llama", spec, tok1024, TINY_LLAMA_DIR, 7, False)


if __name__ == "__main__":
    main(sys.argv)

"""Golden data for ALiBi (kernels/alibi.h, AttentionShape::alibi_slopes), made by Hugging Face.

  - bloom_slopes_<n>: the slopes of transformers' build_alibi_tensor (models/bloom), read off its
    output at key position 1 (alibi[h, 0, 1] = slope[h] · 1), for head counts incl. non-powers of 2;
  - mpt_slopes_<n>_<max>: build_mpt_alibi_tensor(n, 2, alibi_bias_max=max) at key position 0
    (alibi[h, 0, 0] = slope[h] · (0 - 1), negated);
  - bloom_attn_* / mpt_attn_*: one causal prefill through HF's own BloomAttention / MptAttention
    (eval mode, random weights; output projection = identity, residual = 0, so the module returns
    the attention context). q, k, v are the module's own projections, written token-major
    [seq, heads, head_dim] like the kernels' layouts; out is the context [seq, heads, head_dim].
Writes flat f32 arrays (a JSON object of number arrays, 9 significant digits) to
tests/golden/alibi.json.

    nice python tools/make_alibi_golden.py
"""
import math
import os

import torch
from transformers import BloomConfig, MptConfig
from transformers.models.bloom import modeling_bloom as bloom
from transformers.models.mpt import modeling_mpt as mpt

torch.manual_seed(0)
golden = {}


def put(key, value):
    golden[key] = value.contiguous().flatten().tolist() if torch.is_tensor(value) else [value]


HEADS = [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 40, 56, 64, 112]
for n in HEADS:
    ones = torch.ones(1, 2, dtype=torch.long)
    put(f"bloom_slopes_{n}", bloom.build_alibi_tensor(ones, n, torch.float32)[:, 0, 1])
    for bias_max in (8, 16):
        put(f"mpt_slopes_{n}_{bias_max}", -mpt.build_mpt_alibi_tensor(n, 2, bias_max)[:, 0, 0])


def token_major(x):  # [1, heads, seq, dim] -> [seq, heads, dim]
    return x[0].transpose(0, 1)


def bloom_case(heads, head_dim, seq):
    config = BloomConfig(hidden_size=heads * head_dim, n_head=heads, attention_dropout=0.0,
                         hidden_dropout=0.0)
    attn = bloom.BloomAttention(config, layer_idx=0).eval()
    with torch.no_grad():
        torch.nn.init.uniform_(attn.query_key_value.weight, -0.5, 0.5)
        torch.nn.init.uniform_(attn.query_key_value.bias, -0.5, 0.5)
        attn.dense.weight.copy_(torch.eye(config.hidden_size))
        attn.dense.bias.zero_()
        hidden = torch.rand(1, seq, config.hidden_size) * 2 - 1
        q, k, v = attn._reshape(attn.query_key_value(hidden))
        alibi = bloom.build_alibi_tensor(torch.ones(1, seq, dtype=torch.long), heads, torch.float32)
        causal = torch.full((seq, seq), torch.finfo(torch.float32).min).triu(1)[None, None]
        out, _ = attn(hidden, torch.zeros_like(hidden), alibi, causal)
    pre = "bloom_attn_"
    put(pre + "shape", torch.tensor([heads, head_dim, seq], dtype=torch.float32))
    put(pre + "scale", attn.inv_norm_factor)
    put(pre + "q", token_major(q))
    put(pre + "k", token_major(k))
    put(pre + "v", token_major(v))
    put(pre + "out", out[0])


def mpt_case(heads, head_dim, seq, max_seq_len):
    config = MptConfig(d_model=heads * head_dim, n_heads=heads, max_seq_len=max_seq_len)
    attn = mpt.MptAttention(config, layer_idx=0).eval()
    with torch.no_grad():
        torch.nn.init.uniform_(attn.Wqkv.weight, -0.5, 0.5)
        attn.out_proj.weight.copy_(torch.eye(config.hidden_size))
        hidden = torch.rand(1, seq, config.hidden_size) * 2 - 1
        q, k, v = attn.Wqkv(hidden).chunk(3, dim=2)
        alibi = mpt.build_mpt_alibi_tensor(heads, max_seq_len)  # as MptModel.forward builds it
        causal = torch.ones(seq, seq, dtype=torch.bool).triu(1)[None, None]  # True = masked
        out, _ = attn(hidden, alibi, attention_mask=causal)
    pre = "mpt_attn_"
    put(pre + "shape", torch.tensor([heads, head_dim, seq], dtype=torch.float32))
    put(pre + "scale", attn.softmax_scale)
    put(pre + "q", q[0])  # already [seq, heads·dim]
    put(pre + "k", k[0])
    put(pre + "v", v[0])
    put(pre + "out", out[0])


bloom_case(heads=6, head_dim=8, seq=24)      # 6 heads: 4 slopes + 2 extra (non-power of 2)
mpt_case(heads=4, head_dim=8, seq=20, max_seq_len=64)

path = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "alibi.json")
with open(path, "w") as f:  # 9 significant digits: every f32 value round-trips exactly
    f.write("{\n" + ",\n".join(f'"{key}": [' + ", ".join(f"{x:.9g}" for x in values) + "]"
                                 for key, values in golden.items()) + "\n}\n")
print("wrote", path, len(golden), "arrays")

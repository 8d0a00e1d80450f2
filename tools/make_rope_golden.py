"""Golden data for engine/config/rope_scaling.h, produced by Hugging Face transformers itself.

For a grid of rope configs (every rope type the engine supports, head_dim 16 and 64) builds a tiny
LlamaConfig (Phi3Config for default + partial_rotary_factor, since Llama's own default ignores it),
runs the model's rotary-embedding module forward on position ids whose max is seq_len - 1 (this is
what triggers dynamic's and longrope's frequency update), then records the module's inv_freq,
attention_scaling and the final cos/sin (cos(pos * inv_freq) * attention_scaling) at a few positions.
Dynamic cases may give a history of seq_lens fed one after another to the same module (HF keeps
state between forwards). Stateless types are cross-checked against ROPE_INIT_FUNCTIONS directly.
Writes tests/golden/rope_scaling.json.

    python tools/make_rope_golden.py
"""
import json
import math
import os

import torch
import transformers
from transformers import LlamaConfig, Phi3Config
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding
from transformers.models.phi3.modeling_phi3 import Phi3RotaryEmbedding

transformers.logging.set_verbosity_error()  # HF only warns on out-of-range values; keep output readable


def f32(v):
    """A float32 value as a 9-significant-digit decimal that reads back (via double) as the same float32."""
    v = float(v)
    short = float(f"{v:.9g}")
    assert torch.tensor(short, dtype=torch.float32).item() == v, v
    return short


def factors(n, seed, lo, hi):
    g = torch.Generator().manual_seed(seed)
    return [round(float(x), 6) for x in torch.rand(n, generator=g) * (hi - lo) + lo]


def llama3(factor, low, high, orig=None):
    d = {"rope_type": "llama3", "factor": factor, "low_freq_factor": low, "high_freq_factor": high}
    if orig is not None:
        d["original_max_position_embeddings"] = orig
    return d


def longrope(half, seed, **extra):
    return {"rope_type": "longrope", "short_factor": factors(half, seed, 1.0, 1.2),
            "long_factor": factors(half, seed + 1, 1.0, 8.0), **extra}


# (name, rope dict as a config.json holds it, head_dim, rope_theta, max_position_embeddings, seq_lens)
CASES = [
    ("default_16", {"rope_type": "default"}, 16, 10000.0, 256, [40]),
    ("default_64_legacy_type_key", {"type": "default"}, 64, 500000.0, 2048, [300]),
    ("default_64_partial", {"rope_type": "default", "partial_rotary_factor": 0.5}, 64, 10000.0, 2048, [300]),
    ("linear_16_f2", {"rope_type": "linear", "factor": 2.0}, 16, 10000.0, 256, [300]),
    ("linear_64_f4_legacy", {"type": "linear", "factor": 4}, 64, 500000.0, 2048, [5000]),
    ("linear_16_f1_5_partial", {"rope_type": "linear", "factor": 1.5, "partial_rotary_factor": 0.5},
     16, 10000.0, 256, [40]),
]
for hd, theta, mp in ((16, 10000.0, 256), (64, 1000000.0, 2048)):
    for f in (2.0, 4.0):
        for s in (mp // 2, mp, mp + 1, 3 * mp):
            CASES.append((f"dynamic_{hd}_f{f:g}_seq{s}", {"rope_type": "dynamic", "factor": f}, hd, theta, mp, [s]))
CASES += [
    ("dynamic_16_f1_7_odd_max", {"rope_type": "dynamic", "factor": 1.7}, 16, 10000.0, 100, [100, 250]),
    ("dynamic_16_partial", {"rope_type": "dynamic", "factor": 2.0, "partial_rotary_factor": 0.5},
     16, 10000.0, 256, [600]),
    # HF is stateful: grown frequencies stay until the length drops below the original max ...
    ("dynamic_16_history_stays", {"rope_type": "dynamic", "factor": 2.0}, 16, 10000.0, 256, [768, 512]),
    ("dynamic_16_history_at_max_stays", {"rope_type": "dynamic", "factor": 2.0}, 16, 10000.0, 256, [768, 256]),
    # ... then snap back to the original inv_freq.
    ("dynamic_16_history_resets", {"rope_type": "dynamic", "factor": 2.0}, 16, 10000.0, 256, [768, 100]),
    ("dynamic_64_history_grows", {"rope_type": "dynamic", "factor": 4.0}, 64, 10000.0, 2048, [3000, 2500, 9000]),
]
for hd, theta, mp in ((16, 10000.0, 256), (64, 1000000.0, 4096)):
    o = mp // 4
    CASES += [
        (f"yarn_{hd}_f4", {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": o},
         hd, theta, mp, [mp]),
        (f"yarn_{hd}_f8_orig_mismatch", {"rope_type": "yarn", "factor": 8.0, "original_max_position_embeddings": o},
         hd, theta, mp, [60]),
        (f"yarn_{hd}_no_orig", {"rope_type": "yarn", "factor": 4.0}, hd, theta, mp, [mp]),
        (f"yarn_{hd}_attention_factor", {"rope_type": "yarn", "factor": 4.0, "attention_factor": 0.8,
                                        "original_max_position_embeddings": o}, hd, theta, mp, [mp]),
        (f"yarn_{hd}_deepseek_mscale", {"rope_type": "yarn", "factor": 40.0, "mscale": 0.707,
                                       "mscale_all_dim": 1.0, "beta_fast": 32, "beta_slow": 1,
                                       "original_max_position_embeddings": o}, hd, theta, mp, [mp]),
        (f"yarn_{hd}_mscale_zero_ignored", {"rope_type": "yarn", "factor": 4.0, "mscale": 1.0,
                                           "mscale_all_dim": 0, "original_max_position_embeddings": o},
         hd, theta, mp, [mp]),
        (f"yarn_{hd}_no_truncate", {"rope_type": "yarn", "factor": 32.0, "beta_fast": 32.0, "beta_slow": 1.0,
                                   "truncate": False, "original_max_position_embeddings": o}, hd, theta, mp, [mp]),
        (f"yarn_{hd}_betas", {"rope_type": "yarn", "factor": 4.0, "beta_fast": 16, "beta_slow": 2,
                             "original_max_position_embeddings": o}, hd, theta, mp, [mp]),
        (f"yarn_{hd}_beta_zero_is_default", {"rope_type": "yarn", "factor": 4.0, "beta_fast": 0, "beta_slow": 0,
                                            "original_max_position_embeddings": o}, hd, theta, mp, [mp]),
        (f"yarn_{hd}_factor_null", {"rope_type": "yarn", "factor": None, "original_max_position_embeddings": o},
         hd, theta, mp, [mp]),
        (f"yarn_{hd}_f1", {"rope_type": "yarn", "factor": 1.0, "original_max_position_embeddings": o},
         hd, theta, mp, [mp]),
        (f"yarn_{hd}_partial", {"rope_type": "yarn", "factor": 4.0, "partial_rotary_factor": 0.5,
                               "original_max_position_embeddings": o}, hd, theta, mp, [mp]),
    ]
    half = hd // 2
    for s in (o // 2, o, o + 1, mp):
        CASES.append((f"longrope_{hd}_seq{s}", longrope(half, hd, original_max_position_embeddings=o),
                      hd, theta, mp, [s]))
    CASES += [
        (f"longrope_{hd}_factor", longrope(half, hd + 7, original_max_position_embeddings=o, factor=2.0),
         hd, theta, mp, [mp]),
        (f"longrope_{hd}_attention_factor",
         longrope(half, hd + 9, original_max_position_embeddings=o, attention_factor=1.1), hd, theta, mp, [o]),
        (f"longrope_{hd}_no_orig", longrope(half, hd + 11), hd, theta, mp, [mp]),
        (f"longrope_{hd}_legacy_type_key", {"type": "longrope", **{k: v for k, v in longrope(
            half, hd + 13, original_max_position_embeddings=o).items() if k != "rope_type"}}, hd, theta, mp, [mp]),
    ]
CASES += [
    ("llama3_64_llama31", llama3(8.0, 1.0, 4.0, 8192), 64, 500000.0, 131072, [2000]),
    ("llama3_64_llama32", llama3(32.0, 1.0, 4.0, 8192), 64, 500000.0, 131072, [2000]),
    ("llama3_16_small_orig", llama3(8.0, 1.0, 4.0, 1024), 16, 10000.0, 8192, [2000]),
    ("llama3_16_other_bands", llama3(4.0, 2.0, 8.0, 512), 16, 10000.0, 4096, [600]),
    ("llama3_16_no_orig", llama3(8.0, 1.0, 4.0), 16, 10000.0, 1024, [600]),
    ("llama3_16_partial", {**llama3(8.0, 1.0, 4.0, 256), "partial_rotary_factor": 0.5}, 16, 10000.0, 4096, [600]),
]


def run_case(name, rope, head_dim, theta, max_pos, seq_lens):
    rope_in = json.loads(json.dumps(rope))  # HF mutates the dict (standardization)
    kwargs = dict(hidden_size=head_dim * 2, num_attention_heads=2, num_key_value_heads=2, head_dim=head_dim,
                  max_position_embeddings=max_pos, intermediate_size=8, num_hidden_layers=1, vocab_size=8)
    if rope.get("partial_rotary_factor") is not None and rope.get("rope_type", rope.get("type")) == "default":
        config = Phi3Config(rope_parameters={**rope_in, "rope_theta": theta}, **kwargs)
        module = Phi3RotaryEmbedding(config)
    else:
        config = LlamaConfig(rope_parameters={**rope_in, "rope_theta": theta}, **kwargs)
        module = LlamaRotaryEmbedding(config)
    x = torch.zeros(1, dtype=torch.float32)
    for s in seq_lens:  # each forward sees a sequence whose last position is s - 1
        ids = torch.tensor([sorted({1, min(5, s - 1), s // 2, s - 1})])
        cos, sin = module(x, ids)
    rope_type = config.rope_parameters["rope_type"]
    if rope_type not in ("dynamic", "longrope", "default"):
        want, want_scale = ROPE_INIT_FUNCTIONS[rope_type](config)
        assert torch.equal(want, module.inv_freq) and want_scale == module.attention_scaling, name
    rotary_half = module.inv_freq.numel()
    return {
        "name": name,
        "rope": rope,
        "head_dim": head_dim,
        "rope_theta": theta,
        "max_position_embeddings": max_pos,
        "seq_lens": seq_lens,
        "inv_freq": [f32(v) for v in module.inv_freq],
        "attention_scaling": float(module.attention_scaling),
        "positions": [int(p) for p in ids[0]],
        # cos/sin f32 [num_positions, rotary_dim / 2]: the first half of HF's cat((freqs, freqs)) output
        "cos": [[f32(v) for v in row[:rotary_half]] for row in cos[0]],
        "sin": [[f32(v) for v in row[:rotary_half]] for row in sin[0]],
    }


def main():
    out = {
        "generator": "tools/make_rope_golden.py",
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "cases": [run_case(*c) for c in CASES],
    }
    path = os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "rope_scaling.json")
    with open(path, "w") as f:  # one case per line keeps the file small and diffs readable
        head = {k: v for k, v in out.items() if k != "cases"}
        f.write(json.dumps(head)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(c) for c in out["cases"]))
        f.write("\n]}\n")
    print(f"wrote {len(out['cases'])} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()

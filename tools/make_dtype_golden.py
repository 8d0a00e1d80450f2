#!/usr/bin/env python3
"""Golden outputs of golden models with their weight matrices rounded to another dtype, the
reference for attnserve's --weight_dtype (tests/engine/weight_dtype_golden_test.cc).

    python3 tools/make_dtype_golden.py        # needs torch, transformers and gguf (PyPI)

For each model in MODELS (tests/golden/models/<name>/, made by tools/make_golden_models.py) and each
dtype in DTYPES, the model is loaded in float32 exactly as that tool loads it, then every weight
matrix attnserve holds in the weight dtype (embedding, lm_head, attention q/k/v/o and BLOOM's
query_key_value/dense, MLP gate/up/down, MoE experts and shared expert, Mamba in_proj/out_proj;
not routers, norms, biases, conv, x_proj/dt_proj) is replaced by its value rounded to the dtype and
widened back to float32:
    bf16 / f16    torch's round-to-nearest-even conversion;
    q8_0 / q4_0   gguf-py's quantize + dequantize (the numpy port of ggml's reference quantizer,
                  an implementation independent of attnserve's);
and the float32 forward pass of transformers gives the reference: the logits of the first golden
logits input, and the plain-argmax greedy continuation of every golden greedy prompt. A model whose
matrix widths are not multiples of 32 has no q8_0 / q4_0 golden (attnserve refuses those dtypes for
it at load; the test checks the message). Writes tests/golden/models/<name>/golden_<dtype>.json:
    {"dtype", "transformers_version", "torch_version", "gguf_version",
     "logits_cases": [{"input_ids", "logits"}], "greedy_cases": [{"prompt_ids", "generated_ids"}],
     "min_top2_margin"}
"""

import json
import os
import sys

import numpy as np
import torch
import transformers
import gguf
from gguf import GGMLQuantizationType

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_golden_models as mg  # noqa: E402

MODELS = ["llama_gqa", "qwen2_bias", "mistral_bf16_sharded", "mixtral_moe", "qwen2_moe", "mamba2_tiny",
          "jamba_tiny"]
DTYPES = ["bf16", "f16", "q8_0", "q4_0"]
# Last name component of the matrices attnserve converts (engine/model/decoder_model.cc, moe, ssm).
MATRIX_NAMES = {"embed_tokens", "embeddings", "lm_head", "word_embeddings", "q_proj", "k_proj", "v_proj", "o_proj",
                "query_key_value", "dense", "gate_proj", "up_proj", "down_proj", "w1", "w2", "w3",
                "dense_h_to_4h", "dense_4h_to_h", "in_proj", "out_proj"}


def is_matrix(name, param):
    parts = name.split(".")
    if param.dim() == 3:  # transformers 5 fuses MoE experts: [E, out, in] gate_up_proj / down_proj
        return parts[-2] == "experts" and parts[-1] in ("gate_up_proj", "down_proj")
    return param.dim() == 2 and parts[-1] == "weight" and parts[-2] in MATRIX_NAMES


def rounded(w, dtype):
    if dtype == "bf16":
        return w.to(torch.bfloat16).float()
    if dtype == "f16":
        return w.half().float()
    qtype = {"q8_0": GGMLQuantizationType.Q8_0, "q4_0": GGMLQuantizationType.Q4_0}[dtype]
    a = w.detach().numpy().astype(np.float32)  # blocks of 32 along the last (input) dimension
    return torch.from_numpy(gguf.quants.dequantize(gguf.quants.quantize(a, qtype), qtype).reshape(a.shape).copy())


def load_f32(class_name, model_dir, extra):
    """make_golden_models.load_f32, with Hub kernels off explicitly: transformers >= 5.25 turns
    them on for Mamba models when the `kernels` package is present, and the reference must be
    the PyTorch path (make_golden_models.check_pure_torch_ssm checks it)."""
    kwargs = {"experts_implementation": "eager"} if extra.get("moe") else {}
    return getattr(transformers, class_name).from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation="eager", use_kernels=False, **kwargs).eval()


def main():
    for name in MODELS:
        model_dir = os.path.join(mg.GOLDEN_DIR, name)
        golden = json.load(open(os.path.join(model_dir, "golden.json")))
        config = json.load(open(os.path.join(model_dir, "config.json")))
        class_name = config["architectures"][0]
        extra = {"moe": "experts" in json.dumps(config) or "num_local_experts" in config}
        for dtype in DTYPES:
            model = load_f32(class_name, model_dir, extra)
            if "mamba" in name or "jamba" in name:
                mg.check_pure_torch_ssm(model)
            matrices = {n: p for n, p in model.named_parameters() if is_matrix(n, p)}
            if dtype.startswith("q") and any(p.shape[-1] % 32 for p in matrices.values()):
                odd = sorted(n for n, p in matrices.items() if p.shape[-1] % 32)
                print(f"{name} {dtype}: skipped ({odd[0]} has {matrices[odd[0]].shape[-1]} columns)")
                continue
            with torch.no_grad():
                seen = set()
                for n, p in matrices.items():
                    if p.data_ptr() in seen:
                        continue  # tied embedding / lm_head: rounded once
                    seen.add(p.data_ptr())
                    p.copy_(rounded(p.data, dtype))
                case = golden["logits_cases"][0]
                logits = model(torch.tensor([case["input_ids"]])).logits[0].float().flatten().tolist()
            greedy_cases, margin = [], float("inf")
            for c in golden["greedy_cases"]:
                gen, m = mg.greedy(model, c["prompt_ids"], len(c["generated_ids"]))
                greedy_cases.append({"prompt_ids": c["prompt_ids"], "generated_ids": gen})
                margin = min(margin, m)
            out = os.path.join(model_dir, f"golden_{dtype}.json")
            with open(out, "w") as f:
                f.write("{" + ", ".join([
                    f'"dtype": "{dtype}"', f'"transformers_version": "{transformers.__version__}"',
                    f'"torch_version": "{torch.__version__}"', f'"gguf_version": "{gguf.__version__ if hasattr(gguf, "__version__") else "gguf-py"}"',
                    f'"min_top2_margin": {margin:.7g}']) + ",\n")
                f.write('"logits_cases": [' + json.dumps({"input_ids": case["input_ids"]})[:-1] +
                        ', "logits": ' + mg.fmt_floats(logits) + "}],\n")
                f.write('"greedy_cases": [' + ",\n".join(json.dumps(c) for c in greedy_cases) + "]}\n")
            changed = sum(1 for c, g in zip(greedy_cases, golden["greedy_cases"]) if c["generated_ids"] != g["generated_ids"])
            print(f"{name} {dtype}: {len(matrices)} matrices rounded, min_top2_margin {margin:.3g}, "
                  f"{changed}/{len(greedy_cases)} greedy continuations differ from float32")


if __name__ == "__main__":
    main()

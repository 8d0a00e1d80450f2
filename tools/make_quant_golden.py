#!/usr/bin/env python3
"""Golden dequantization of ggml's K-quant super-blocks, the reference for attnserve's block
decoding (kernels/quant_blocks_avx2.h; tests/kernels/kquant_test.cc).

    /tmp/venv/bin/python tools/make_quant_golden.py      # needs numpy and gguf (PyPI)

gguf-py cannot quantize to the K-quants, so the blocks are random bytes (a fixed seed) with their
f16 scales replaced by finite values; gguf-py's numpy dequantizer (a port of ggml's
dequantize_row_q*_K, independent of attnserve) gives the values. Writes
tests/golden/quant_blocks/kquants.json: {"<type>": {"blocks": hex, "values_bits": [u32 ...]}}.
"""
import json
import os

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import quants

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "quant_blocks", "kquants.json")
# (type, block bytes, byte offsets of its f16 scales)
TYPES = [(Q.Q4_K, 144, [0, 2]), (Q.Q5_K, 176, [0, 2]), (Q.Q6_K, 210, [208])]
BLOCKS = 6


def main():
    rng = np.random.default_rng(20261207)
    out = {}
    for qtype, size, f16_offsets in TYPES:
        raw = rng.integers(0, 256, size=(BLOCKS, size), dtype=np.uint8)
        for off in f16_offsets:
            scales = rng.uniform(-0.05, 0.05, size=BLOCKS).astype(np.float16)
            raw[:, off:off + 2] = scales.view(np.uint8).reshape(BLOCKS, 2)
        values = quants.dequantize(raw, qtype).astype(np.float32).reshape(-1)
        out[qtype.name.lower()] = {"blocks": raw.tobytes().hex(), "values_bits": values.view(np.uint32).tolist()}
        print(qtype.name, values.shape, float(np.abs(values).max()))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()

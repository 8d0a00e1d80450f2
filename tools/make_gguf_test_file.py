#!/usr/bin/env python3
"""Writes tests/golden/gguf/tiny.gguf with the gguf PyPI package's GGUFWriter (llama.cpp's own
writer, gguf-py), the cross-check of attnserve's GGUF reader (tests/loader/gguf_file_test.cc):

    python3 tools/make_gguf_test_file.py      # needs numpy and gguf (PyPI)

Metadata: general.architecture = "llama", llama.block_count (u32) = 2, llama.rope.freq_base
(f32) = 10000, tokenizer.ggml.tokens = ["<s>", "a", "bc"], tokenizer.ggml.scores (f32 array).
Tensors (source values x[i] = ((i * 37) % 101 - 50) / 64, row-major HF shape [rows, cols]):
    "f32"  [2, 64] F32;  "f16" [2, 64] F16;  "q8_0" [3, 64] Q8_0;  "q4_0" [3, 64] Q4_0
(block types quantized by gguf-py's numpy port of ggml's reference quantizer).
"""
import os

import numpy as np
import gguf

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "golden", "gguf", "tiny.gguf")


def source(rows, cols):
    i = np.arange(rows * cols)
    return (((i * 37) % 101 - 50) / 64.0).astype(np.float32).reshape(rows, cols)


def main():
    w = gguf.GGUFWriter(OUT, "llama")
    w.add_uint32("llama.block_count", 2)
    w.add_float32("llama.rope.freq_base", 10000.0)
    w.add_token_list(["<s>", "a", "bc"])
    w.add_token_scores([0.0, -1.5, -2.25])
    w.add_tensor("f32", source(2, 64))
    w.add_tensor("f16", source(2, 64).astype(np.float16))
    for name, qtype in (("q8_0", gguf.GGMLQuantizationType.Q8_0), ("q4_0", gguf.GGMLQuantizationType.Q4_0)):
        q = gguf.quants.quantize(source(3, 64), qtype)
        w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(OUT, os.path.getsize(OUT), "bytes")


if __name__ == "__main__":
    main()

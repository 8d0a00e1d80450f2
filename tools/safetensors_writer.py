"""Hand-written safetensors output for the random benchmark models (numpy only, no torch).

Shared by tools/make_random_llama.py and tools/make_random_mamba.py:
    write_safetensors(path, dtype, shapes, make_tensor) -> bytes of tensor data
where shapes is [(name, shape)] in file order and make_tensor(name, shape) returns an f32 array.
"""

import json
import struct

import numpy as np

SAFETENSORS_DTYPE = {"f32": "F32", "f16": "F16", "bf16": "BF16"}
CONFIG_DTYPE = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}


def to_bytes(x, dtype):
    """f32 array -> little-endian bytes in `dtype` (bf16 rounds to nearest even)."""
    x = np.ascontiguousarray(x, dtype="<f4")
    if dtype == "f32":
        return x.tobytes()
    if dtype == "f16":
        return x.astype("<f2").tobytes()
    u = x.view("<u4").astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return u.astype("<u2").tobytes()


def write_safetensors(path, dtype, shapes, make_tensor):
    itemsize = 4 if dtype == "f32" else 2
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in shapes:
        nbytes = int(np.prod(shape)) * itemsize
        header[name] = {"dtype": SAFETENSORS_DTYPE[dtype], "shape": list(shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for name, shape in shapes:
            f.write(to_bytes(make_tensor(name, shape), dtype))
    return offset

"""Golden data for the Mamba-2 mixer kernels (kernels/ssd.h), produced by Hugging Face itself.

Calls transformers' own torch functions of models/mamba2/modeling_mamba2.py on random inputs:
  - mamba2_chunk_scan (dt_softplus, dt_bias, D, initial_states, return_final_states) for prefill
    cases: several chunk sizes, T not a multiple of the chunk size, T < chunk size, G = 1 and 2,
    a non-default dt_limit (time_step_limit);
  - mamba2_selective_state_update (called the way Mamba2Mixer calls it: dt, dt_bias, D expanded
    over head_dim, A over [head_dim, N]) for decode steps continuing from a prefill's state;
  - MambaRMSNormGated with a gate and group_size < dim.
Writes every input and output as flat f32 arrays (row-major, the kernels' token-major layouts:
x [T, H·P], dt [T, H], B/C [T, G·N], state [H, P, N]) to tests/golden/ssd_kernels.json.
Prefill case k's keys are prefixed "p<k>_", decode step j's "d<j>_", the norm's "norm_".

    nice python tools/make_ssd_kernel_golden.py
"""
import os

import torch
from transformers.models.mamba2 import modeling_mamba2 as m2

torch.manual_seed(0)
golden = {}


def put(key, value):
    golden[key] = value.contiguous().flatten().tolist() if torch.is_tensor(value) else [value]


def random_params(H):
    A = -torch.exp(torch.rand(H) * 2.0 - 0.5)  # -exp(A_log), A in [-4.5, -0.6]
    dt_bias = torch.rand(H) * 2.0 - 1.5
    D = torch.randn(H)
    return A, dt_bias, D


# Prefill cases: (T, H, P, G, N, chunk sizes, dt_limit).
PREFILL = [
    (37, 4, 6, 2, 8, [8, 16, 64], (0.0, float("inf"))),  # G = 2; T = 4Q+5, 2Q+5, < Q
    (24, 3, 5, 1, 16, [8, 10, 32], (0.15, 0.6)),         # G = 1; T = 3Q, 2Q+4, < Q; clamped dt
    (19, 8, 4, 4, 4, [4], (0.0, 2.0)),                   # G = 4 (2 heads per group)
]
with torch.no_grad():
    for k, (T, H, P, G, N, chunks, limit) in enumerate(PREFILL):
        A, dt_bias, D = random_params(H)
        x = torch.randn(1, T, H, P)
        dt = torch.randn(1, T, H) * 1.5 - 1.0
        B = torch.randn(1, T, G, N)
        C = torch.randn(1, T, G, N)
        state0 = torch.randn(1, H, P, N) * 0.5
        pre = f"p{k}_"
        for key, v in [("num_tokens", T), ("num_heads", H), ("head_dim", P), ("num_groups", G),
                       ("state_size", N), ("dt_min", limit[0]), ("dt_max", min(limit[1], 1e30))]:
            put(pre + key, v)
        put(pre + "chunk_sizes", torch.tensor(chunks, dtype=torch.float32))
        for key, v in [("A", A), ("dt_bias", dt_bias), ("D", D), ("x", x), ("dt", dt), ("B", B),
                       ("C", C), ("state0", state0)]:
            put(pre + key, v)
        for q in chunks:
            out, final = m2.mamba2_chunk_scan(x, dt, A, B, C, chunk_size=q, D=D, dt_bias=dt_bias,
                                              initial_states=state0, dt_softplus=True,
                                              dt_limit=limit, return_final_states=True)
            put(pre + f"out_q{q}", out)
            put(pre + f"state_q{q}", final)

    # Decode: three steps of prefill case 0 continuing from its final state (chunk size 8).
    T, H, P, G, N, chunks, limit = PREFILL[0]
    A, dt_bias, D = (torch.tensor(golden[f"p0_{n}"]) for n in ("A", "dt_bias", "D"))
    state = torch.tensor(golden["p0_state_q8"]).reshape(1, H, P, N).clone()
    put("decode_steps", 3)
    for j in range(3):
        x = torch.randn(1, H, P)
        dt = torch.randn(1, H) * 1.5 - 1.0
        B = torch.randn(1, G, N)
        C = torch.randn(1, G, N)
        out = m2.mamba2_selective_state_update(
            state, x, dt[:, :, None].expand(-1, -1, P), A[:, None, None].expand(-1, P, N), B, C,
            D[:, None].expand(-1, P), z=None, dt_bias=dt_bias[:, None].expand(-1, P),
            dt_softplus=True)
        for key, v in [("x", x), ("dt", dt), ("B", B), ("C", C), ("out", out), ("state", state)]:
            put(f"d{j}_{key}", v)

    # Gated grouped RMSNorm (Mamba2Mixer: group_size = intermediate_size / n_groups).
    rows, dim, group, eps = 5, 24, 8, 1e-5
    norm = m2.MambaRMSNormGated(dim, group_size=group, eps=eps)
    norm.weight.copy_(torch.randn(dim))
    xs, zs = torch.randn(rows, dim) * 2.0, torch.randn(rows, dim) * 2.0
    for key, v in [("rows", rows), ("dim", dim), ("group_size", group), ("eps", eps), ("x", xs),
                   ("z", zs), ("weight", norm.weight), ("out", norm(xs, zs))]:
        put("norm_" + key, v)

# Sanity: outputs of one case agree across chunk sizes (what the C++ chunk_size test relies on).
for k, (T, H, P, G, N, chunks, limit) in enumerate(PREFILL):
    outs = [torch.tensor(golden[f"p{k}_out_q{q}"]) for q in chunks]
    assert all(torch.allclose(o, outs[0], atol=1e-4, rtol=1e-4) for o in outs), k

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "ssd_kernels.json")
with open(path, "w") as f:  # %.9g round-trips an f32 exactly
    f.write("{\n" + ",\n".join(f'  "{k}": [' + ", ".join(f"{float(x):.9g}" for x in v) + "]"
                                for k, v in golden.items()) + "\n}\n")
print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")

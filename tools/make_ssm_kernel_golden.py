"""Golden data for the Mamba-1 mixer kernels (kernels/ssm.h), produced by Hugging Face itself.

Runs transformers' MambaMixer torch path (causal_conv1d_fn / mamba_selective_scan for a prefill
of T tokens, then causal_conv1d_update / mamba_selective_state_update for one decode token) on
random weights and writes every kernel input and output as flat f32 arrays (row-major, in the
kernels' token-major layouts) to tests/golden/ssm_kernels.json. Also checks that the
intermediates reproduce MambaMixer.forward's own output.

    nice python tools/make_ssm_kernel_golden.py
"""
import json
import os

import torch
import torch.nn.functional as F
from transformers import MambaConfig
from transformers.models.mamba import modeling_mamba as mm

torch.manual_seed(0)
HIDDEN, D_INNER, N, K, RANK, T = 16, 20, 16, 4, 4, 9
config = MambaConfig(hidden_size=HIDDEN, intermediate_size=D_INNER, state_size=N, conv_kernel=K,
                     time_step_rank=RANK, use_mambapy=False, use_conv_bias=True, hidden_act="silu")
mixer = mm.MambaMixer(config, layer_idx=0).eval()
with torch.no_grad():
    for p in mixer.parameters():  # random weights everywhere (init leaves D = 1, conv bias = 0, ...)
        p.copy_(torch.randn_like(p) * 0.5)
    mixer.A_log.copy_(torch.log(torch.rand_like(mixer.A_log) * 4 + 0.25))

    hidden = torch.randn(1, T + 1, HIDDEN)
    want_forward = mixer(hidden[:, :T])  # no cache: prefill path

    A = -torch.exp(mixer.A_log.float())
    w = mixer.conv1d.weight.squeeze(1)
    dt_bias = mixer.dt_proj.bias.float()

    def project(h):  # [1, L, hidden] -> x [1, D, L], gate [1, D, L]
        return mixer.in_proj(h).transpose(1, 2).chunk(2, dim=1)

    def ssm_inputs(conv_out):  # conv_out [1, D, L] -> dt [1, D, L] (no bias), B, C [1, L, N]
        dt, B, C = torch.split(mixer.x_proj(conv_out.transpose(1, 2)), [RANK, N, N], dim=-1)
        return mixer.dt_proj.weight @ dt.transpose(1, 2), B, C

    # Prefill of T tokens, zero states.
    x, gate = project(hidden[:, :T])
    conv_out = mm.causal_conv1d_fn(x, w, mixer.conv1d.bias, activation="silu")
    dt, B, C = ssm_inputs(conv_out)
    scan_out, ssm_state = mm.mamba_selective_scan(
        conv_out, dt, A, B.transpose(1, 2), C.transpose(1, 2), D=mixer.D.float(), z=gate,
        delta_bias=dt_bias, delta_softplus=True, return_last_state=True, use_mambapy=False)
    got_forward = mixer.out_proj(scan_out.transpose(1, 2))
    assert torch.allclose(got_forward, want_forward, atol=1e-6), (got_forward - want_forward).abs().max()
    conv_state = F.pad(x, (K - 1, 0))[:, :, -(K - 1):].clone()  # last K-1 inputs

    # One decode token continuing from those states (HF's cached single-token path).
    x1, gate1 = project(hidden[:, T:])
    conv_state_hf = conv_state.clone()
    conv_out1 = mm.causal_conv1d_update(x1, conv_state_hf, w, mixer.conv1d.bias, activation="silu")
    dt1, B1, C1 = ssm_inputs(conv_out1)
    ssm_state_hf = ssm_state.clone()
    scan_out1 = mm.mamba_selective_state_update(
        ssm_state_hf, conv_out1[..., 0], dt1[..., 0], A, B1[:, 0], C1[:, 0], mixer.D,
        z=gate1[..., 0], dt_bias=dt_bias, dt_softplus=True)


def tok_major(t):  # [1, D, L] -> [L, D] flat
    return t[0].transpose(0, 1).contiguous().flatten().tolist()


def flat(t):
    return t.contiguous().flatten().tolist()


golden = {
    "channels": D_INNER, "state_size": N, "kernel_size": K, "num_tokens": T,
    "conv_weight": flat(w), "conv_bias": flat(mixer.conv1d.bias), "A": flat(A),
    "dt_bias": flat(dt_bias), "D": flat(mixer.D),
    # prefill
    "x": tok_major(x), "conv_out": tok_major(conv_out), "conv_state": flat(conv_state[0]),
    "dt": tok_major(dt), "B": flat(B[0]), "C": flat(C[0]), "z": tok_major(gate),
    "scan_out": tok_major(scan_out), "ssm_state": flat(ssm_state[0]),
    # decode (one token)
    "x1": tok_major(x1), "conv_out1": tok_major(conv_out1), "conv_state1": flat(conv_state_hf[0]),
    "dt1": tok_major(dt1), "B1": flat(B1[0]), "C1": flat(C1[0]), "z1": tok_major(gate1),
    "scan_out1": flat(scan_out1[0]), "ssm_state1": flat(ssm_state_hf[0]),
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "ssm_kernels.json")
with open(path, "w") as f:
    f.write("{\n" + ",\n".join(f'  "{k}": {json.dumps(v)}' for k, v in golden.items()) + "\n}\n")
print("wrote", os.path.normpath(path))

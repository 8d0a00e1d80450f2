// MambaMixer: weight loading and the packed-batch forward pass (see mamba_mixer.h).
#include "engine/ssm/mamba_mixer.h"

#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace attnserve {
namespace {

const float* DataOrNull(const F32Tensor& t) { return t.data; }

// Copies columns [col, col + n) of the rows of src f32[T, stride] into dst f32[T, n].
void CopyColumns(const float* src, int64_t stride, int64_t col, int64_t n, int64_t T, float* dst) {
  for (int64_t t = 0; t < T; ++t) std::memcpy(dst + t * n, src + t * stride + col, n * sizeof(float));
}

}  // namespace

void MambaMixerWeights::Load(WeightLoader& loader, const std::string& p, const ModelConfig& c) {
  const SsmSpec& s = c.ssm;
  const int64_t H = c.hidden_size, I = s.inner, N = s.state_size, R = s.dt_rank;
  loader.LoadMatrix(p + "in_proj.weight", 2 * I, H, in_proj);
  if (s.proj_bias) loader.Load(p + "in_proj.bias", {2 * I}, in_proj_bias);
  loader.Load(p + "conv1d.weight", {I, 1, s.conv_kernel}, conv_weight);
  if (s.conv_bias) loader.Load(p + "conv1d.bias", {I}, conv_bias);
  loader.Load(p + "x_proj.weight", {R + 2 * N, I}, x_proj);
  loader.Load(p + "dt_proj.weight", {I, R}, dt_proj);
  loader.Load(p + "dt_proj.bias", {I}, dt_bias);
  F32Tensor a_log;
  loader.Load(p + "A_log", {I, N}, a_log);
  loader.Load(p + "D", {I}, D);
  loader.LoadMatrix(p + "out_proj.weight", H, I, out_proj);
  if (s.proj_bias) loader.Load(p + "out_proj.bias", {H}, out_proj_bias);
  if (s.bcdt_norms) {
    loader.Load(p + "dt_layernorm.weight", {R}, dt_norm);
    loader.Load(p + "b_layernorm.weight", {N}, b_norm);
    loader.Load(p + "c_layernorm.weight", {N}, c_norm);
  }
  if (!loader.status().ok()) return;
  A.resize(I * N);
  for (int64_t i = 0; i < I * N; ++i) A[i] = -std::exp(a_log.data[i]);  // HF: -torch.exp(A_log.float())
}

void MambaMixer::Forward(const ModelConfig& c, const MambaMixerWeights& w, const float* h,
                         std::span<const SsmChunk> chunks, Backend& be, float* out) {
  const SsmSpec& s = c.ssm;
  const int64_t H = c.hidden_size, I = s.inner, N = s.state_size, R = s.dt_rank, K = s.conv_kernel;
  int64_t T = 0;
  for (const SsmChunk& ch : chunks) T += ch.num_tokens;
  if (T == 0) return;
  auto grow = [](std::vector<float>& v, int64_t n) {
    if (v.size() < static_cast<size_t>(n)) v.resize(n);
  };
  grow(xz_, T * 2 * I);
  grow(u_, T * I);
  grow(dbc_, T * (R + 2 * N));
  grow(dt_low_, T * R);
  if (s.bcdt_norms) {
    grow(b_, T * N);
    grow(c_, T * N);
  }
  grow(dt_, T * I);
  grow(y_, T * I);

  be.Linear(h, w.in_proj.matrix, DataOrNull(w.in_proj_bias), xz_.data(), T);
  const int64_t conv_floats = I * (K - 1);
  for (const SsmChunk& ch : chunks) {
    SsmConvShape shape{ch.num_tokens, I, K, 2 * I};
    be.CausalConv1dSilu(xz_.data() + ch.row * 2 * I, w.conv_weight.data, DataOrNull(w.conv_bias), shape,
                        ch.state, u_.data() + ch.row * I);
  }
  be.Linear(u_.data(), w.x_proj.data, nullptr, dbc_.data(), T, R + 2 * N, I);
  // dt' must be dense for dt_proj; B and C are read in place (bc_stride) unless Jamba normalises
  // them, which needs dense rows.
  CopyColumns(dbc_.data(), R + 2 * N, 0, R, T, dt_low_.data());
  const float* B = dbc_.data() + R;
  const float* C = dbc_.data() + R + N;
  int64_t bc_stride = R + 2 * N;
  if (s.bcdt_norms) {
    const float eps = static_cast<float>(c.rms_norm_eps);
    CopyColumns(dbc_.data(), R + 2 * N, R, N, T, b_.data());
    CopyColumns(dbc_.data(), R + 2 * N, R + N, N, T, c_.data());
    be.RmsNorm(dt_low_.data(), w.dt_norm.data, dt_low_.data(), T, R, eps);
    be.RmsNorm(b_.data(), w.b_norm.data, b_.data(), T, N, eps);
    be.RmsNorm(c_.data(), w.c_norm.data, c_.data(), T, N, eps);
    B = b_.data();
    C = c_.data();
    bc_stride = N;
  }
  be.Linear(dt_low_.data(), w.dt_proj.data, nullptr, dt_.data(), T, I, R);
  for (const SsmChunk& ch : chunks) {
    SelectiveScanShape shape;
    shape.num_tokens = ch.num_tokens;
    shape.channels = I;
    shape.state_size = N;
    shape.z_stride = 2 * I;
    shape.bc_stride = bc_stride;
    be.SelectiveScan(u_.data() + ch.row * I, dt_.data() + ch.row * I, w.dt_bias.data, w.A.data(),
                     B + ch.row * bc_stride, C + ch.row * bc_stride, w.D.data, xz_.data() + ch.row * 2 * I + I,
                     shape, ch.state + conv_floats, y_.data() + ch.row * I);
  }
  be.Linear(y_.data(), w.out_proj.matrix, DataOrNull(w.out_proj_bias), out, T);
}

}  // namespace attnserve

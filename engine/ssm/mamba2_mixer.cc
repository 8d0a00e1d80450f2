// Mamba2Mixer: weight loading and the packed-batch forward pass (see mamba2_mixer.h).
#include "engine/ssm/mamba2_mixer.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace attnserve {
namespace {

constexpr int64_t kCpuSsdBlock = 32;

}  // namespace

void Mamba2MixerWeights::Load(WeightLoader& loader, const std::string& p, const ModelConfig& c) {
  const SsmSpec& s = c.ssm;
  const int64_t H = c.hidden_size, I = s.inner, heads = s.num_heads;
  const int64_t conv_dim = s.conv_channels(LayerSpec::Mixer::kMamba2);
  const int64_t proj_dim = I + conv_dim + heads;
  loader.LoadMatrix(p + "in_proj.weight", proj_dim, H, in_proj);
  if (s.proj_bias) loader.Load(p + "in_proj.bias", {proj_dim}, in_proj_bias);
  loader.Load(p + "conv1d.weight", {conv_dim, 1, s.conv_kernel}, conv_weight);
  if (s.conv_bias) loader.Load(p + "conv1d.bias", {conv_dim}, conv_bias);
  loader.Load(p + "dt_bias", {heads}, dt_bias);
  F32Tensor a_log;
  loader.Load(p + "A_log", {heads}, a_log);
  loader.Load(p + "D", {heads}, D);
  loader.Load(p + "norm.weight", {I}, norm);
  loader.LoadMatrix(p + "out_proj.weight", H, I, out_proj);
  if (s.proj_bias) loader.Load(p + "out_proj.bias", {H}, out_proj_bias);
  if (!loader.status().ok()) return;
  A.resize(heads);
  for (int64_t h = 0; h < heads; ++h) A[h] = -std::exp(a_log.data[h]);
}

void Mamba2Mixer::Forward(const ModelConfig& c, const Mamba2MixerWeights& w, const float* h,
                          std::span<const SsmChunk> chunks, Backend& be, float* out) {
  const SsmSpec& s = c.ssm;
  const int64_t H = c.hidden_size, I = s.inner, heads = s.num_heads, N = s.state_size, G = s.num_groups;
  const int64_t conv_dim = s.conv_channels(LayerSpec::Mixer::kMamba2);
  const int64_t proj_dim = I + conv_dim + heads;
  int64_t T = 0;
  for (const SsmChunk& ch : chunks) T += ch.num_tokens;
  if (T == 0) return;
  if (proj_.size() < static_cast<size_t>(T * proj_dim)) proj_.resize(T * proj_dim);
  if (xbc_.size() < static_cast<size_t>(T * conv_dim)) xbc_.resize(T * conv_dim);
  if (y_.size() < static_cast<size_t>(T * I)) y_.resize(T * I);

  be.Linear(h, w.in_proj.matrix, w.in_proj_bias.data, proj_.data(), T);
  const int64_t conv_floats = conv_dim * (s.conv_kernel - 1);
  for (const SsmChunk& ch : chunks) {
    const SsmConvShape conv{ch.num_tokens, conv_dim, s.conv_kernel, proj_dim};
    be.CausalConv1dSilu(proj_.data() + ch.row * proj_dim + I, w.conv_weight.data, w.conv_bias.data, conv,
                        ch.state, xbc_.data() + ch.row * conv_dim);
    SsdShape ssd;
    ssd.num_tokens = ch.num_tokens;
    ssd.num_heads = heads;
    ssd.head_dim = s.head_dim;
    ssd.num_groups = G;
    ssd.state_size = N;
    // The SSD block length changes only rounding; on the CPU blocks of <= 64 tokens are fastest
    // (kernels/ssd.h: 5.0 ms at 16-32 vs 13.7 ms at 256 for 2048 tokens, 8 heads, P = N = 64).
    ssd.chunk_size = std::min<int64_t>(s.chunk_size, kCpuSsdBlock);
    ssd.x_stride = conv_dim;
    ssd.dt_stride = proj_dim;
    ssd.bc_stride = conv_dim;
    ssd.dt_min = static_cast<float>(s.dt_min);
    ssd.dt_max = s.dt_max > 0 ? static_cast<float>(s.dt_max) : std::numeric_limits<float>::infinity();
    const float* xbc = xbc_.data() + ch.row * conv_dim;
    be.SsdScan(xbc, proj_.data() + ch.row * proj_dim + I + conv_dim, w.dt_bias.data, w.A.data(), xbc + I,
               xbc + I + G * N, w.D.data, ssd, ch.state + conv_floats, y_.data() + ch.row * I);
  }
  GatedRmsNormShape norm;
  norm.rows = T;
  norm.dim = I;
  norm.group_size = I / G;
  norm.z_stride = proj_dim;
  norm.eps = static_cast<float>(s.norm_eps);
  be.GatedRmsNorm(y_.data(), proj_.data(), w.norm.data, norm, y_.data());
  be.Linear(y_.data(), w.out_proj.matrix, w.out_proj_bias.data, out, T);
}

}  // namespace attnserve

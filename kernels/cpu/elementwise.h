// Row-wise and element-wise CPU ops (AVX2+FMA, parallel over rows or element ranges). Numerics follow
// HF transformers' float32 math: f32 accumulation, max-subtracted softmax, silu = g / (1 + exp(-g)).
#pragma once

#include <cstdint>

namespace attnserve::cpu {

// x, y f32[rows, dim] (may alias); weight f32[dim]. y = x * rsqrt(mean(x^2) + eps) * weight.
void RmsNorm(int num_threads, const float* x, const float* weight, float* y, int64_t rows,
             int64_t dim, float eps);

// x, y f32[rows, dim] (may alias); weight, bias f32[dim]. HF LayerNorm: two-pass mean / biased
// variance in f32, y = (x - mean) * rsqrt(var + eps) * weight + bias.
void LayerNorm(int num_threads, const float* x, const float* weight, const float* bias, float* y,
               int64_t rows, int64_t dim, float eps);

// y f32[n] = gelu_tanh(x f32[n]) = x·sigmoid(2u), u = 0.79788456·x·(1 + 0.044715·x²)
// (= 0.5·x·(1 + tanh u)); y may alias x.
void GeluTanh(int num_threads, const float* x, float* y, int64_t n);

// In place. x f32[num_tokens, num_heads, head_dim]; cos, sin f32[num_tokens, head_dim/2].
void ApplyRope(int num_threads, float* x, const float* cos, const float* sin, int64_t num_tokens,
               int64_t num_heads, int64_t head_dim);

// out f32[n] = silu(gate f32[n]) * up f32[n]; out may alias either input.
void SiluMul(int num_threads, const float* gate, const float* up, float* out, int64_t n);

// y f32[n] += x f32[n].
void AddInPlace(int num_threads, float* y, const float* x, int64_t n);

// x, y f32[rows, n] (may alias). y = x - logsumexp(x) per row.
void LogSoftmax(int num_threads, const float* x, float* y, int64_t rows, int64_t n);

// In place over scores f32[n]: s = exp(s - max(s)), then s /= sum. Returns nothing; used by attention.
void SoftmaxInPlace(float* scores, int64_t n);

}  // namespace attnserve::cpu

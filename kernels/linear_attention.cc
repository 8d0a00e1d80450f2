// Linear-attention state helpers and the FAVOR+ projection (kernels/linear_attention.h).
//
// MakeFavorProjection draws its Gaussians from a generator written out here (splitmix64-seeded
// xoshiro256** + Box–Muller) instead of std::normal_distribution, whose algorithm differs between
// standard libraries. Draw order, per block of r = min(d, m - first_row) rows:
//
//   r·d Gaussians  -> the block's raw rows (row-major), orthogonalised by Gram–Schmidt in double
//   r·d Gaussians  -> r independent d-dim Gaussian vectors; row i is rescaled to the norm of the i-th
//
// so each row is uniformly distributed on its sphere with a chi(d) norm, rows within a block are
// exactly orthogonal (Choromanski et al. 2021, FAVOR+ with orthogonal random features, the
// unregularised variant), and the blocks of an m-row W are the blocks of any longer W of the same
// seed whenever they are full. Arithmetic is double until the final cast to f32, so the bytes agree
// across platforms whose libm log/sin/cos/sqrt agree to the last double bit or so (glibc, musl,
// macOS libm do for all practical purposes).
#include "kernels/linear_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace attnserve {
namespace {

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Standard normal variates, bit-reproducible for a seed: xoshiro256** (state from splitmix64)
// gives uniform doubles in (0, 1); Box–Muller turns each pair into two Gaussians.
class GaussianStream {
 public:
  explicit GaussianStream(uint64_t seed) {
    for (uint64_t& word : s_) word = SplitMix64(seed);
  }

  double Next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = Uniform(), u2 = Uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double theta = 6.283185307179586476925286766559 * u2;
    spare_ = r * std::sin(theta);
    has_spare_ = true;
    return r * std::cos(theta);
  }

 private:
  uint64_t NextBits() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in (0, 1): the top 53 bits, centred in their cell (never 0, so log is finite).
  double Uniform() { return (double(NextBits() >> 11) + 0.5) * 0x1.0p-53; }

  uint64_t s_[4];
  double spare_ = 0.0;
  bool has_spare_ = false;
};

// Orthonormalises the r rows of block f64[r, d] (r <= d) in place: modified Gram–Schmidt, run twice
// ("twice is enough" for orthogonality to rounding). A row that collapses (probability zero for
// Gaussian input) is redrawn from `gauss`.
void OrthonormaliseRows(double* block, int64_t r, int64_t d, GaussianStream& gauss) {
  for (int64_t i = 0; i < r; ++i) {
    double* row = block + i * d;
    for (;;) {
      for (int pass = 0; pass < 2; ++pass) {
        for (int64_t j = 0; j < i; ++j) {
          const double* prev = block + j * d;
          double dot = 0.0;
          for (int64_t p = 0; p < d; ++p) dot += row[p] * prev[p];
          for (int64_t p = 0; p < d; ++p) row[p] -= dot * prev[p];
        }
      }
      double norm2 = 0.0;
      for (int64_t p = 0; p < d; ++p) norm2 += row[p] * row[p];
      if (norm2 > 1e-20) {
        const double inv = 1.0 / std::sqrt(norm2);
        for (int64_t p = 0; p < d; ++p) row[p] *= inv;
        break;
      }
      for (int64_t p = 0; p < d; ++p) row[p] = gauss.Next();
    }
  }
}

}  // namespace

int64_t LinearStateFloats(int64_t num_kv_heads, int64_t num_features, int64_t head_dim) {
  return num_kv_heads * (num_features * head_dim + num_features + 1);
}

void LinearStateInit(float* state, int64_t num_kv_heads, int64_t num_features, int64_t head_dim) {
  const int64_t record = num_features * head_dim + num_features + 1;
  for (int64_t g = 0; g < num_kv_heads; ++g) {
    float* rec = state + g * record;
    std::fill(rec, rec + record - 1, 0.0f);
    rec[record - 1] = -std::numeric_limits<float>::infinity();  // key_log_scale: no key yet
  }
}

void MakeFavorProjection(int64_t num_features, int64_t head_dim, uint64_t seed, float* w) {
  const int64_t m = num_features, d = head_dim;
  GaussianStream gauss(seed);
  std::vector<double> block(d * d);
  for (int64_t first = 0; first < m; first += d) {
    const int64_t r = std::min(d, m - first);
    for (int64_t i = 0; i < r * d; ++i) block[i] = gauss.Next();
    OrthonormaliseRows(block.data(), r, d, gauss);
    for (int64_t i = 0; i < r; ++i) {
      double norm2 = 0.0;
      for (int64_t p = 0; p < d; ++p) {
        const double g = gauss.Next();
        norm2 += g * g;
      }
      const double norm = std::sqrt(norm2);
      for (int64_t p = 0; p < d; ++p) w[(first + i) * d + p] = float(block[i * d + p] * norm);
    }
  }
}

}  // namespace attnserve

// attnserve-bench-weight-dtypes: the Linear kernels alone, per weight dtype, over one decode
// step's matrices of a model shape (default SmolLM2-135M: 30 layers of q/k/v/o + gate/up/down,
// and the tied 49152 × 576 lm_head), m = 1 (or --m). Each pass multiplies every matrix once,
// weights from DRAM (the whole set is larger than the caches); reported: ms per pass, GB/s of
// weight bytes and the fraction of the read bandwidth measured in the same run. For every block
// dtype both activation modes (int8 blocks, exact f32 activations) run, in alternating rounds, so
// the kernel choice in kernels/cpu/linear_typed.cc is a ratio measured under the same noise.
// K-quants (q4_k/q5_k/q6_k) are read-only formats: their matrices are random valid super-blocks
// (random bytes, small finite f16 scales), and their cols are rounded up to a multiple of 256
// (576 -> 768 for SmolLM2), so compare them by GB/s, not ms/pass.
//   attnserve-bench-weight-dtypes [--num_threads 2] [--m 1] [--rounds 5]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "bench/memory_bandwidth.h"
#include "kernels/backend_registry.h"
#include "kernels/dtype_convert.h"

ABSL_FLAG(int, num_threads, 0, "compute threads (0 = all cores)");
ABSL_FLAG(int, m, 1, "rows of x (tokens per step)");
ABSL_FLAG(int, rounds, 5, "alternating rounds; each reports its best of 10 passes");
ABSL_FLAG(int64_t, hidden, 576, "hidden size");
ABSL_FLAG(int64_t, intermediate, 1536, "MLP intermediate size");
ABSL_FLAG(int64_t, kv_dim, 192, "key/value projection rows");
ABSL_FLAG(int64_t, layers, 30, "decoder layers");
ABSL_FLAG(int64_t, vocab, 49152, "lm_head rows");

namespace {

using namespace attnserve;

struct Matrix {
  int64_t rows, cols;
  std::vector<unsigned char> bytes;
};

std::vector<Matrix> MakeMatrices(DType dtype) {
  const int64_t H = absl::GetFlag(FLAGS_hidden), I = absl::GetFlag(FLAGS_intermediate),
                KV = absl::GetFlag(FLAGS_kv_dim);
  std::vector<std::pair<int64_t, int64_t>> shapes;
  for (int64_t l = 0; l < absl::GetFlag(FLAGS_layers); ++l) {
    for (auto s : {std::pair{H, H}, {KV, H}, {KV, H}, {H, H}, {I, H}, {I, H}, {H, I}}) shapes.push_back(s);
  }
  shapes.push_back({absl::GetFlag(FLAGS_vocab), H});
  std::vector<Matrix> out;
  std::mt19937 gen(1);
  for (auto [rows, cols] : shapes) {
    if (IsKQuantDType(dtype)) {  // random valid super-blocks; f16 d (and dmin) small and finite
      const int64_t per = DTypeBlockElems(dtype);
      cols = (cols + per - 1) / per * per;
      Matrix m{rows, cols, std::vector<unsigned char>(DTypeRowBytes(dtype, cols) * rows)};
      for (unsigned char& b : m.bytes) b = static_cast<unsigned char>(gen() & 0xFF);
      const size_t bb = DTypeBlockBytes(dtype);
      const uint16_t d = F32ToF16Bits(0.01f);
      for (size_t off = 0; off < m.bytes.size(); off += bb) {
        if (dtype == DType::kQ6_K) {
          std::memcpy(&m.bytes[off + bb - 2], &d, 2);
        } else {
          std::memcpy(&m.bytes[off], &d, 2);
          std::memcpy(&m.bytes[off + 2], &d, 2);
        }
      }
      out.push_back(std::move(m));
      continue;
    }
    std::vector<float> f(static_cast<size_t>(rows * cols));
    for (size_t i = 0; i < f.size(); ++i) f[i] = float((i * 2654435761u) % 1000) * 1e-3f - 0.5f;
    Matrix m{rows, cols, std::vector<unsigned char>(DTypeRowBytes(dtype, cols) * rows)};
    ConvertFromF32(dtype, f.data(), m.bytes.data(), f.size());
    out.push_back(std::move(m));
  }
  return out;
}

// Best seconds of 10 passes over every matrix.
double BestPass(Backend& be, DType dtype, const std::vector<Matrix>& ms, int64_t m) {
  std::vector<float> x(static_cast<size_t>(m * 4 * absl::GetFlag(FLAGS_intermediate)), 0.25f);
  std::vector<float> y(static_cast<size_t>(m * absl::GetFlag(FLAGS_vocab)));
  double best = 1e30;
  for (int rep = 0; rep < 10; ++rep) {
    const auto t = std::chrono::steady_clock::now();
    for (const Matrix& w : ms) be.Linear(x.data(), {dtype, w.bytes.data(), w.rows, w.cols}, nullptr, y.data(), m);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int threads = absl::GetFlag(FLAGS_num_threads) > 0 ? absl::GetFlag(FLAGS_num_threads) : omp_get_max_threads();
  const int64_t m = absl::GetFlag(FLAGS_m);
  struct Variant {
    DType dtype;
    bool quantize_activations;
  };
  std::vector<Variant> variants = {{DType::kF32, true}, {DType::kBF16, true}, {DType::kF16, true}};
  for (DType d : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ4_K,
                  DType::kQ5_K, DType::kQ6_K}) {
    variants.push_back({d, true});
    variants.push_back({d, false});
  }
  std::printf("threads %d, m %lld; read bandwidth %.1f GB/s (measured now)\n", threads,
              static_cast<long long>(m), bench::MeasureReadBandwidthGBs(threads, 10));
  std::printf("%-8s %-22s %10s %10s %8s  (one line per round)\n", "dtype", "activations", "ms/pass", "GB/s", "frac_bw");
  for (int round = 0; round < absl::GetFlag(FLAGS_rounds); ++round) {
    const double bandwidth = bench::MeasureReadBandwidthGBs(threads, 3);
    for (const Variant& v : variants) {
      const std::vector<Matrix> ms = MakeMatrices(v.dtype);
      size_t bytes = 0;
      for (const Matrix& w : ms) bytes += w.bytes.size();
      auto be = MakeBackend("cpu", {threads, v.quantize_activations}).value();
      const double s = BestPass(*be, v.dtype, ms, m);
      const char* mode = !IsBlockDType(v.dtype) ? "f32" : v.quantize_activations ? "int8 blocks" : "f32 (exact)";
      std::printf("%-8s %-22s %10.2f %10.1f %8.2f\n", DTypeName(v.dtype), mode, s * 1e3, bytes / s / 1e9,
                  bytes / s / 1e9 / bandwidth);
    }
  }
  return 0;
}

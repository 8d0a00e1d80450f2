// OpenBLAS-backed Linear kernel. OpenBLAS runs single-threaded here: the CPU backend's OpenMP team
// splits the output across cores and each thread calls cblas_sgemm on its block, so there is one
// thread pool on the machine and no oversubscription between OpenMP and OpenBLAS' pthreads.
#include <cblas.h>

#include <algorithm>

#include "kernels/cpu/gemm.h"

// Weak so that a non-OpenBLAS cblas still links; then the call is skipped.
#pragma weak openblas_set_num_threads

namespace attnserve::cpu {

void SetBlasThreads(int num_threads) {
  if (&openblas_set_num_threads != nullptr) openblas_set_num_threads(std::max(1, num_threads));
}

void GemmBlas(const float* x, const float* w, const float* bias, float* y, int64_t m, int64_t n,
              int64_t k, int64_t ldy) {
  float beta = 0.0f;
  if (bias != nullptr) {
    for (int64_t i = 0; i < m; ++i) std::copy(bias, bias + n, y + i * ldy);
    beta = 1.0f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n), int(k), 1.0f, x, int(k), w,
              int(k), beta, y, int(ldy));
}

}  // namespace attnserve::cpu

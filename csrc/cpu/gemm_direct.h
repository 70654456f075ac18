// The unpacked GEMM paths: no packing, no blocking, one pass over the operands.
//   - scale_c:     C = beta * C                       (K == 0 or alpha == 0)
//   - gemv:        y = alpha * A x + beta * y         (matrix-vector: GEMM with M or N == 1)
//   - gemm_direct: C = alpha * A B + beta * C         (small problems, and the int64 path)
// They are templates so each ISA build of gemm_kernels.cpp vectorises them for its own
// instruction set, and gemm.cpp reuses them for int64. Each output element is summed over k
// in a fixed order, split over threads by output rows only, so the result never depends on
// the thread count.
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/parallel.h"

namespace pe::cpu::gemm_detail {
// Internal linkage on purpose: this header is compiled with different ISA flags in several
// translation units; shared (weak) symbols would let the linker pick, say, the AVX-512 copy
// for the generic build.
namespace {

// BLAS rule: beta == 0 means "overwrite", so NaN/Inf already in C never reaches the result.
template <class T>
inline T blend(T acc, T alpha, T beta, T c) {
  return beta == T(0) ? alpha * acc : alpha * acc + beta * c;
}

// By value: std::min on references to constants makes GCC warn about its temporaries.
inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

// Runs f(begin, end) over [0, n) on the calling thread when `threads` is 1, else on the pool.
template <class F>
inline void run_parallel(int threads, int64_t n, int64_t cost, F&& f) {
  if (threads <= 1)
    f(int64_t(0), n);
  else
    parallel_for(n, cost, f);
}

template <class T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t rsC, int64_t csC) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T& c = C[i * rsC + j * csC];
      c = beta == T(0) ? T(0) : beta * c;
    }
}

// Dot product with independent lanes: vectorises without reassociation (no -ffast-math),
// and several vector accumulators hide the FMA latency. The order of additions is fixed.
template <class T>
inline T dot_contiguous(int64_t n, const T* a, const T* x) {
  constexpr int L = 128 / sizeof(T);
  T acc[L] = {};
  int64_t k = 0;
  for (; k + L <= n; k += L)
    for (int l = 0; l < L; ++l) acc[l] += a[k + l] * x[k + l];
  T tail = T(0);
  for (; k < n; ++k) tail += a[k] * x[k];
  for (int w = L / 2; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0] + tail;
}

// y[i] = alpha * sum_k A[i, k] x[k] + beta * y[i],  i < m.
template <class T>
void gemv(int threads, int64_t m, int64_t n, T alpha, const T* A, int64_t rsA, int64_t csA, const T* x,
          int64_t incx, T beta, T* y, int64_t incy) {
  if (rsA == 1 && csA != 1) {
    // Columns of A are contiguous: y += A[:, k] x[k], streaming whole columns (one block of
    // rows per thread, at most kRows so the accumulators stay in L1).
    constexpr int64_t kRows = 4096;
    const int64_t per_thread = (m + threads - 1) / threads;
    const int64_t rows_per_block = imin(kRows, (per_thread + 15) / 16 * 16);
    const int64_t blocks = (m + rows_per_block - 1) / rows_per_block;
    run_parallel(threads, blocks, rows_per_block * n, [&](int64_t b0, int64_t b1) {
      T acc[kRows];
      for (int64_t b = b0; b < b1; ++b) {
        const int64_t i0 = b * rows_per_block, rows = imin(rows_per_block, m - i0);
        for (int64_t r = 0; r < rows; ++r) acc[r] = T(0);
        for (int64_t k = 0; k < n; ++k) {
          const T xk = x[k * incx];
          const T* col = A + i0 + k * csA;
          for (int64_t r = 0; r < rows; ++r) acc[r] += col[r] * xk;
        }
        for (int64_t r = 0; r < rows; ++r) {
          T& yi = y[(i0 + r) * incy];
          yi = blend(acc[r], alpha, beta, yi);
        }
      }
    });
    return;
  }
  run_parallel(threads, m, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const T* row = A + i * rsA;
      T s = T(0);
      if (csA == 1 && incx == 1) {
        s = dot_contiguous(n, row, x);
      } else {
        for (int64_t k = 0; k < n; ++k) s += row[k * csA] * x[k * incx];
      }
      T& yi = y[i * incy];
      yi = blend(s, alpha, beta, yi);
    }
  });
}

// Row by row: acc[j] += A[i, k] * B[k, j] over a block of columns (vectorises along j when B's
// rows are contiguous).
template <class T>
void gemm_direct(int threads, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA,
                 const T* B, int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC) {
  constexpr int64_t kCols = 256;
  run_parallel(threads, M, N * K, [&](int64_t i0, int64_t i1) {
    T acc[kCols];
    for (int64_t i = i0; i < i1; ++i) {
      for (int64_t j0 = 0; j0 < N; j0 += kCols) {
        const int64_t cols = imin(kCols, N - j0);
        for (int64_t j = 0; j < cols; ++j) acc[j] = T(0);
        for (int64_t k = 0; k < K; ++k) {
          const T a = A[i * rsA + k * csA];
          const T* b = B + k * rsB + j0 * csB;
          if (csB == 1) {
            for (int64_t j = 0; j < cols; ++j) acc[j] += a * b[j];
          } else {
            for (int64_t j = 0; j < cols; ++j) acc[j] += a * b[j * csB];
          }
        }
        T* c = C + i * rsC + j0 * csC;
        for (int64_t j = 0; j < cols; ++j) c[j * csC] = blend(acc[j], alpha, beta, c[j * csC]);
      }
    }
  });
}

}  // namespace
}  // namespace pe::cpu::gemm_detail

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
#include <cstring>

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

// Bytes per vector register of the ISA this file is compiled for.
#if defined(__AVX512F__)
constexpr int kVectorBytes = 64;
#elif defined(__AVX2__)
constexpr int kVectorBytes = 32;
#else
constexpr int kVectorBytes = 16;
#endif

// Vector registers of the ISA this file is compiled for, as GCC/Clang vector types, and an
// unaligned, alias-safe load from and store to memory.
template <class T>
struct Vec {
  typedef T type __attribute__((vector_size(kVectorBytes)));
  typedef T unaligned __attribute__((vector_size(kVectorBytes), aligned(sizeof(T)), may_alias));
  static constexpr int W = kVectorBytes / sizeof(T);
  static type load(const T* p) { return *reinterpret_cast<const unaligned*>(p); }
  static void store(T* p, type v) { *reinterpret_cast<unaligned*>(p) = v; }
};

// Pairwise sum of a vector's lanes: the upper half added onto the lower half, log2(W) times,
// as vector adds on ever narrower registers (log2(W) dependent adds rather than W).
template <class T, int Bytes>
struct HalvingSum {
  typedef T type __attribute__((vector_size(Bytes)));
  static T run(type v) {
    if constexpr (Bytes == 2 * sizeof(T)) {
      return v[0] + v[1];
    } else {
      typename HalvingSum<T, Bytes / 2>::type lo, hi;
      std::memcpy(&lo, &v, Bytes / 2);
      std::memcpy(&hi, reinterpret_cast<const char*>(&v) + Bytes / 2, Bytes / 2);
      return HalvingSum<T, Bytes / 2>::run(lo + hi);
    }
  }
};

template <class T>
inline T sum_lanes(typename Vec<T>::type v) {
  return HalvingSum<T, kVectorBytes>::run(v);
}

// One row's dot product: two vector accumulators (even / odd vectors of the row), then the
// vector tail, lanes pairwise, the scalar tail. dot4 below follows exactly these steps for
// four rows at once, so a row's result does not depend on how rows are grouped (or split
// over threads); four rows share the loads of x and keep four memory streams in flight.
template <class T>
inline T dot1(int64_t n, const T* a, const T* x) {
  using V = Vec<T>;
  constexpr int W = V::W;
  typename V::type s0 = {}, s1 = {};
  int64_t k = 0;
  for (; k + 2 * W <= n; k += 2 * W) {
    s0 += V::load(a + k) * V::load(x + k);
    s1 += V::load(a + k + W) * V::load(x + k + W);
  }
  for (; k + W <= n; k += W) s0 += V::load(a + k) * V::load(x + k);
  T sum = sum_lanes<T>(s0 + s1);
  for (; k < n; ++k) sum += a[k] * x[k];
  return sum;
}

template <class T>
inline void dot4(int64_t n, const T* a, int64_t lda, const T* x, T* out) {
  using V = Vec<T>;
  constexpr int W = V::W;
  const T *a0 = a, *a1 = a + lda, *a2 = a1 + lda, *a3 = a2 + lda;
  typename V::type s00 = {}, s01 = {}, s10 = {}, s11 = {}, s20 = {}, s21 = {}, s30 = {}, s31 = {};
  int64_t k = 0;
  for (; k + 2 * W <= n; k += 2 * W) {
    const typename V::type x0 = V::load(x + k), x1 = V::load(x + k + W);
    s00 += V::load(a0 + k) * x0;
    s01 += V::load(a0 + k + W) * x1;
    s10 += V::load(a1 + k) * x0;
    s11 += V::load(a1 + k + W) * x1;
    s20 += V::load(a2 + k) * x0;
    s21 += V::load(a2 + k + W) * x1;
    s30 += V::load(a3 + k) * x0;
    s31 += V::load(a3 + k + W) * x1;
  }
  for (; k + W <= n; k += W) {
    const typename V::type x0 = V::load(x + k);
    s00 += V::load(a0 + k) * x0;
    s10 += V::load(a1 + k) * x0;
    s20 += V::load(a2 + k) * x0;
    s30 += V::load(a3 + k) * x0;
  }
  T r0 = sum_lanes<T>(s00 + s01), r1 = sum_lanes<T>(s10 + s11), r2 = sum_lanes<T>(s20 + s21),
    r3 = sum_lanes<T>(s30 + s31);
  for (; k < n; ++k) {
    r0 += a0[k] * x[k];
    r1 += a1[k] * x[k];
    r2 += a2[k] * x[k];
    r3 += a3[k] * x[k];
  }
  out[0] = r0;
  out[1] = r1;
  out[2] = r2;
  out[3] = r3;
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
        int64_t k = 0;
        for (; k + 4 <= n; k += 4) {  // four columns per pass over acc: a quarter of the stores
          const T x0 = x[k * incx], x1 = x[(k + 1) * incx], x2 = x[(k + 2) * incx], x3 = x[(k + 3) * incx];
          const T* c0 = A + i0 + k * csA;
          const T *c1 = c0 + csA, *c2 = c1 + csA, *c3 = c2 + csA;
          for (int64_t r = 0; r < rows; ++r) acc[r] += (c0[r] * x0 + c1[r] * x1) + (c2[r] * x2 + c3[r] * x3);
        }
        for (; k < n; ++k) {
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
    for (int64_t i = i0; i < i1;) {
      T s[4];
      int64_t rows = 1;
      if (csA == 1 && incx == 1) {
        rows = i + 4 <= i1 ? 4 : 1;
        if (rows == 4)
          dot4(n, A + i * rsA, rsA, x, s);
        else
          s[0] = dot1(n, A + i * rsA, x);
      } else {
        s[0] = T(0);
        for (int64_t k = 0; k < n; ++k) s[0] += A[i * rsA + k * csA] * x[k * incx];
      }
      for (int64_t r = 0; r < rows; ++r) {
        T& yi = y[(i + r) * incy];
        yi = blend(s[r], alpha, beta, yi);
      }
      i += rows;
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

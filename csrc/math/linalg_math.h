// The small dense factorizations both backends run per matrix (ops/linalg_solvers.h): LU with
// partial pivoting, the triangular solves on it, and Cholesky. Row-major n x n matrices; the
// factorizations accumulate in double. The CPU kernels call these on double working copies, the CUDA
// kernels in place on the device buffer (one thread per matrix), so the math is written once.
#pragma once
#include <cmath>
#include <cstdint>

#include "math/host_device.h"

namespace pe::linalg_math {

template <class T>
PE_HOST_DEVICE inline void swap_rows(T* a, int64_t i, int64_t j, int64_t cols) {
  for (int64_t c = 0; c < cols; ++c) {
    const T t = a[i * cols + c];
    a[i * cols + c] = a[j * cols + c];
    a[j * cols + c] = t;
  }
}

// A = P L U in place (getrf's packing); piv[k] = the row swapped with row k at step k (0-based).
// Returns 0, or k + 1 for the first exactly-zero pivot U[k, k] (the factorization goes on).
template <class T>
PE_HOST_DEVICE inline int64_t lu_factor(T* a, int64_t n, int64_t* piv) {
  int64_t info = 0;
  for (int64_t k = 0; k < n; ++k) {
    int64_t p = k;
    double best = fabs(static_cast<double>(a[k * n + k]));
    for (int64_t i = k + 1; i < n; ++i) {
      const double v = fabs(static_cast<double>(a[i * n + k]));
      if (v > best || (v != v && best == best)) p = i, best = v;  // a NaN pivots like LAPACK's idamax
    }
    piv[k] = p;
    if (a[p * n + k] == T(0)) {
      if (info == 0) info = k + 1;
      continue;
    }
    if (p != k) swap_rows(a, k, p, n);
    const double inv = 1.0 / static_cast<double>(a[k * n + k]);
    for (int64_t i = k + 1; i < n; ++i) {
      const double l = static_cast<double>(a[i * n + k]) * inv;
      a[i * n + k] = static_cast<T>(l);
      if (l == 0.0) continue;
      for (int64_t j = k + 1; j < n; ++j)
        a[i * n + j] = static_cast<T>(static_cast<double>(a[i * n + j]) - l * static_cast<double>(a[k * n + j]));
    }
  }
  return info;
}

// B (n x r) = A^-1 B from lu_factor's result: the row swaps, then L (unit) and U substitution,
// row by row so the innermost loop runs along B's contiguous rows (in B's precision: the CPU
// calls this on double copies).
template <class T>
PE_HOST_DEVICE inline void lu_solve(const T* lu, const int64_t* piv, T* b, int64_t n, int64_t r) {
  for (int64_t k = 0; k < n; ++k)
    if (piv[k] != k) swap_rows(b, k, piv[k], r);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t k = 0; k < i; ++k) {
      const T l = lu[i * n + k];
      if (l != T(0))
        for (int64_t j = 0; j < r; ++j) b[i * r + j] -= l * b[k * r + j];
    }
  for (int64_t i = n - 1; i >= 0; --i) {
    for (int64_t k = i + 1; k < n; ++k) {
      const T u = lu[i * n + k];
      if (u != T(0))
        for (int64_t j = 0; j < r; ++j) b[i * r + j] -= u * b[k * r + j];
    }
    const T inv = T(1) / lu[i * n + i];
    for (int64_t j = 0; j < r; ++j) b[i * r + j] *= inv;
  }
}

// The lower Cholesky factor in place from A's lower triangle (the upper one is zeroed). Returns
// 0, or k + 1 when the leading minor of order k + 1 is not positive-definite (or NaN).
template <class T>
PE_HOST_DEVICE inline int64_t cholesky(T* a, int64_t n) {
  int64_t info = 0;
  for (int64_t j = 0; j < n && info == 0; ++j) {
    double d = static_cast<double>(a[j * n + j]);
    for (int64_t k = 0; k < j; ++k) d -= static_cast<double>(a[j * n + k]) * static_cast<double>(a[j * n + k]);
    if (!(d > 0.0)) {
      info = j + 1;
      break;
    }
    const double ljj = sqrt(d);
    a[j * n + j] = static_cast<T>(ljj);
    for (int64_t i = j + 1; i < n; ++i) {
      double s = static_cast<double>(a[i * n + j]);
      for (int64_t k = 0; k < j; ++k) s -= static_cast<double>(a[i * n + k]) * static_cast<double>(a[j * n + k]);
      a[i * n + j] = static_cast<T>(s / ljj);
    }
  }
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = i + 1; j < n; ++j) a[i * n + j] = T(0);
  return info;
}

}  // namespace pe::linalg_math

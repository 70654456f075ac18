// Matrix factorizations and the solvers built on them (torch.linalg): LU with partial pivoting,
// Cholesky, Householder QR, the symmetric eigendecomposition and the SVD. Float32/float64, any
// strides, batched over every leading dim. The op layer checks the arguments, copies the input to
// a contiguous working buffer of shape (batch, m, n), allocates the outputs and ends in one
// kernel slot; the Python layer (pyengine/linalg) builds solve, inv, det, slogdet, lstsq, pinv,
// matrix_rank and the norms on these, with their gradients.
#pragma once
#include <string>
#include <tuple>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

// (LU, pivots, info). LU: A = P L U packed like LAPACK's getrf (unit L below the diagonal, U on
// and above); pivots (batch..., n) int64, 0-based: row k was swapped with row pivots[k] at step k;
// info (batch...) int64: 0, or k+1 when U[k, k] is exactly zero (the first one; the
// factorization is still finished, as LAPACK does).
std::tuple<Tensor, Tensor, Tensor> linalg_lu_factor(const Tensor& a);
// X with A X = B from lu_factor's (LU, pivots): LU (batch..., n, n), B (batch..., n, k) with the
// same batch dims (the Python layer broadcasts them).
Tensor linalg_lu_solve(const Tensor& lu, const Tensor& pivots, const Tensor& b);
// (L, info): the lower Cholesky factor, reading only the lower triangle of A; info (batch...) is
// 0, or k+1 when the leading minor of order k+1 is not positive-definite (L is then incomplete).
std::tuple<Tensor, Tensor> linalg_cholesky(const Tensor& a);
// (Q, R) by Householder reflections; mode "reduced" (Q m x k, R k x n, k = min(m, n)),
// "complete" (Q m x m, R m x n) or "r" (Q is an empty tensor, R k x n).
std::tuple<Tensor, Tensor> linalg_qr(const Tensor& a, const std::string& mode);
// (eigenvalues ascending (batch..., n), eigenvectors as columns (batch..., n, n), or an empty
// tensor when compute_v is false), reading the triangle named by uplo ("L" or "U").
std::tuple<Tensor, Tensor> linalg_eigh(const Tensor& a, const std::string& uplo, bool compute_v);
// (U, S, Vh) with S descending; full_matrices: U m x m and Vh n x n, else m x k and k x n;
// compute_uv false: U and Vh are empty tensors.
std::tuple<Tensor, Tensor, Tensor> linalg_svd(const Tensor& a, bool full_matrices, bool compute_uv);

// ---------------------------------------------------------------- kernels
// Every matrix below is contiguous, row-major, `batch` of them back to back, in `dtype`
// (float32/float64; the kernels compute in double either way). Batch elements are independent.
struct LuArgs {
  DType dtype = DType::Float64;
  int64_t batch = 0, n = 0;
  void* lu = nullptr;         // in: A (batch, n, n); out: packed L\U
  int64_t* pivots = nullptr;  // out: (batch, n)
  int64_t* info = nullptr;    // out: (batch)
};
struct LuSolveArgs {
  DType dtype = DType::Float64;
  int64_t batch = 0, n = 0, nrhs = 0;
  const void* lu = nullptr;         // (batch, n, n) from the LU kernel
  const int64_t* pivots = nullptr;  // (batch, n)
  void* b = nullptr;                // in: B (batch, n, nrhs); out: X
};
struct CholeskyArgs {
  DType dtype = DType::Float64;
  int64_t batch = 0, n = 0;
  void* a = nullptr;        // in: A (lower triangle read); out: L (upper triangle zeroed)
  int64_t* info = nullptr;  // out: (batch)
};
struct QrArgs {
  DType dtype = DType::Float64;
  int64_t batch = 0, m = 0, n = 0;
  const void* a = nullptr;  // (batch, m, n)
  void* q = nullptr;        // (batch, m, q_cols) or nullptr (mode "r")
  int64_t q_cols = 0;       // k or m
  void* r = nullptr;        // (batch, r_rows, n): rows past k are zero
  int64_t r_rows = 0;       // k or m
};
struct EighArgs {
  DType dtype = DType::Float64;
  int64_t batch = 0, n = 0;
  bool upper = false;       // read the upper triangle instead of the lower
  const void* a = nullptr;  // (batch, n, n)
  void* w = nullptr;        // (batch, n) ascending
  void* v = nullptr;        // (batch, n, n) eigenvectors as columns, or nullptr
};
struct SvdArgs {
  DType dtype = DType::Float64;
  int64_t batch = 0, m = 0, n = 0;
  bool full_matrices = false;
  const void* a = nullptr;  // (batch, m, n)
  void* u = nullptr;        // (batch, m, m or k), or nullptr
  void* s = nullptr;        // (batch, k) descending, k = min(m, n)
  void* vh = nullptr;       // (batch, n or k, n), or nullptr
};

inline KernelSlot<void (*)(const LuArgs&)> lu_factor_kernel{"linalg.lu_factor"};
inline KernelSlot<void (*)(const LuSolveArgs&)> lu_solve_kernel{"linalg.lu_solve"};
inline KernelSlot<void (*)(const CholeskyArgs&)> cholesky_kernel{"linalg.cholesky"};
inline KernelSlot<void (*)(const QrArgs&)> qr_kernel{"linalg.qr"};
inline KernelSlot<void (*)(const EighArgs&)> eigh_kernel{"linalg.eigh"};
inline KernelSlot<void (*)(const SvdArgs&)> svd_kernel{"linalg.svd"};

}  // namespace pe::ops

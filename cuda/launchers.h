// The CUDA kernels' host entry points: raw device pointers, shapes and element strides, no
// pe::Tensor, so the same files also build on the CPU through cuda_emu.h (the _cuda_emu test
// module). Callers have validated everything (shapes, dtypes, devices) and pick the device;
// launchers only launch. Errors (a failed launch) are std::runtime_error.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/scalar.h"
#include "math/elementwise_math.h"
#include "math/reduce_ops.h"

namespace pe::cuda {

using Dims = std::vector<int64_t>;

// One strided operand seen in the launcher's shape: `data` points at its first element,
// `strides` has one entry (in elements) per dim of that shape, 0 where it is broadcast.
struct Operand {
  void* data;
  DType dtype;
  Dims strides;
};

// copy.cu: dst = src converted to dst's dtype (src broadcast through its strides); fill.
void copy(const Dims& shape, const Operand& dst, const Operand& src);
void fill(const Dims& shape, const Operand& dst, Scalar value);

// elementwise.cu: out = f(in) / out = f(a, b) with f the functor of `op` (math/elementwise_math.h).
// Inputs have the op's compute dtype (a and b the same); out has the functor's result dtype
// (that dtype, or bool).
void unary(ew::UnaryOp op, const Dims& shape, const Operand& out, const Operand& in);
void binary(ew::BinaryOp op, const Dims& shape, const Operand& out, const Operand& a, const Operand& b);
// out = cond ? a : b; cond is bool, a and b have out's dtype.
void where(const Dims& shape, const Operand& out, const Operand& cond, const Operand& a, const Operand& b);

// reduce.cu: out[j] = op (the shared vocabulary of math/reduce_ops.h) over the dims where
// `reduced[d]` of in[...]. `in` has `shape`; out's strides are given in the same rank, and
// ignored on reduced dims. in and out share a dtype: float32, float64 or int64; bool for
// Amax/Amin, All/Any (bool only) and ArgMax/ArgMin; Mean, LogSumExp,
// Var, Std and Norm floating only. An empty reduction gives the op's identity (0 for sum, NaN
// for mean and var, -inf/+inf or the int64 limits for max/min, false/true on bool, 1 for prod,
// -inf for logsumexp, 0 for norm); ArgMax/ArgMin and the inf-norms need a non-empty one.
// ArgMax/ArgMin: out.data may be null (indices only); extra.index receives the int64 index of
// the first extreme (NaN counts as the extreme), laid out like out. Var/Std divide by
// max(0, n - extra.correction); Norm has order extra.p (inf, -inf and 0 included).
struct ReduceExtra {
  int64_t* index = nullptr;
  double p = 2.0;
  double correction = 1.0;
};
void reduce(ReduceOp op, const Dims& shape, const Operand& out, const Operand& in, const std::vector<bool>& reduced,
            const ReduceExtra& extra = {});

// gemm.cu: for every batch index, C = alpha * A @ B + beta * C with A (m, k), B (k, n),
// C (m, n) strided matrices (any row/column strides: transposed views need no copy). The
// batch dims `batch_shape` are shared by the three operands through their own `batch_strides`
// (0 = broadcast). beta == 0 never reads C (NaN in C does not leak), as in BLAS.
// dtype float32 or float64.
struct Matrix {
  void* data;
  int64_t row_stride, col_stride;
  Dims batch_strides;
};
void gemm(DType dtype, const Dims& batch_shape, int64_t m, int64_t n, int64_t k, double alpha, const Matrix& a,
          const Matrix& b, double beta, const Matrix& c);

}  // namespace pe::cuda

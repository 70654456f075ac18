// The CUDA kernels' host entry points: raw device pointers, shapes and element strides, no
// pe::Tensor, so the same files also build on the CPU through cuda_emu.h (the _cuda_emu test
// module). Callers have validated everything (shapes, dtypes, devices) and pick the device;
// launchers only launch. Errors (a failed launch) are std::runtime_error.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "math/elementwise_math.h"

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
void fill(const Dims& shape, const Operand& dst, double value);

// elementwise.cu: out = f(in) / out = f(a, b) with f the functor of `op` (math/elementwise_math.h).
// Inputs have the op's compute dtype (a and b the same); out has the functor's result dtype
// (that dtype, or bool).
void unary(ew::UnaryOp op, const Dims& shape, const Operand& out, const Operand& in);
void binary(ew::BinaryOp op, const Dims& shape, const Operand& out, const Operand& a, const Operand& b);

// reduce.cu: out[j] = op over the dims where `reduced[d]` of in[...]. `in` has `shape`; out's
// strides are given in the same rank, and ignored on reduced dims. in and out share a dtype:
// float32, float64 or int64; bool for Max/Min (= any/all); Mean and LogSumExp floating only.
// An empty reduction gives the op's identity (0 for sum, NaN for mean, -inf/+inf or the int64
// limits for max/min, false/true on bool, 1 for prod, -inf for logsumexp).
enum class Reduce { Sum, Mean, Max, Min, Prod, LogSumExp };
void reduce(Reduce op, const Dims& shape, const Operand& out, const Operand& in, const std::vector<bool>& reduced);

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

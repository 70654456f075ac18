// Reductions: sum, mean, prod, amax/amin, max/min along a dim with indices, argmax/argmin,
// var/std, logsumexp, norm, all/any. PyTorch semantics (dtypes, empty inputs, NaN, ties).
// Device-neutral: validates once, allocates outputs, ends in reduce_kernel.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/reduce_ops.h"

namespace pe::ops {

using ::pe::ReduceOp;

using Dims = std::optional<std::vector<int64_t>>;  // nullopt or empty = every dim

Tensor sum(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype);
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype);
Tensor prod(const Tensor& x, const Dims& dims, bool keepdim, std::optional<DType> dtype);
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim);
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim);
std::pair<Tensor, Tensor> max_dim(const Tensor& x, int64_t dim, bool keepdim);  // (values, int64 indices)
std::pair<Tensor, Tensor> min_dim(const Tensor& x, int64_t dim, bool keepdim);
// dim nullopt: index into the flattened tensor.
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim);
Tensor var(const Tensor& x, const Dims& dims, double correction, bool keepdim);
Tensor std(const Tensor& x, const Dims& dims, double correction, bool keepdim);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim);
// p: any float; inf = max |x|, -inf = min |x|, 0 = count of nonzeros.
Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim);
Tensor all(const Tensor& x, const Dims& dims, bool keepdim);
Tensor any(const Tensor& x, const Dims& dims, bool keepdim);

// The kernel's view of a reduction: two index spaces over the input, both in element strides
// with size-1 dims dropped and adjacent dims merged: the KEPT dims (one output element per
// index, outputs written contiguously in that order) and the REDUCED dims (walked in row-major
// order, which is also the order argmax indices count in).
struct ReduceArgs {
  ReduceOp op = ReduceOp::Sum;
  DType in_dtype = DType::Float32;
  DType out_dtype = DType::Float32;  // the result type for (op, in_dtype), chosen by the op layer
  const void* in = nullptr;          // first element of the input view
  void* out = nullptr;               // contiguous, kept_numel elements (may be null for ArgMax/ArgMin)
  int64_t* out_index = nullptr;      // ArgMax/ArgMin only
  Shape kept_shape, kept_strides;    // may be empty (a single output)
  Shape red_shape, red_strides;      // may be empty (each output reduces one element)
  double p = 2.0;                    // Norm order
  double correction = 1.0;           // Var/Std: divide by max(0, n - correction)
};
inline KernelSlot<void (*)(const ReduceArgs&)> reduce_kernel{"reduction"};

}  // namespace pe::ops

// Reductions: sum, mean, prod, amax/amin, max/min along a dim with indices, argmax/argmin,
// var/std, logsumexp, norm, all/any. PyTorch semantics (dtypes, empty inputs, NaN, ties).
// Device-neutral: validates once, allocates outputs, dispatches to the CPU kernels or to
// the CUDA table's `reduce` slot.
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace pe::ops {

// The vocabulary shared by the op layer, the CPU kernels and the CUDA backend
// (`cuda_ops().reduce(static_cast<int>(op), out, in, dims)`, where `out` is contiguous with
// the input's shape and every reduced dim set to 1, and `dims` are sorted, unique, >= 0).
enum class ReduceOp : int {
  Sum = 0,
  Prod,
  Mean,
  Amax,
  Amin,
  ArgMax,  // values and first-occurrence indices (max_dim, argmax)
  ArgMin,
  Var,
  Std,
  LogSumExp,
  Norm,
  All,
  Any,
};

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

}  // namespace pe::ops

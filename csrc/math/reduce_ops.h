// The reduce-op vocabulary shared by the op layer (ops/reduce.h), the CPU kernels and the CUDA
// kernels: which fold a reduction applies.
#pragma once

namespace pe {

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

}  // namespace pe

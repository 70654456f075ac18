// CPU normalization kernels, forward and fused backward (csrc/cpu/norm_kernels.cpp, compiled
// once per ISA).
//
// Every tensor reaches the kernels contiguous (the op layer copies other layouts once), so
// the input is described only by sizes:
//  - batch norm sees x as (N, C, S): statistics per channel c over the N planes of S elements;
//  - group norm sees x as (N, C, S) split into G groups of C/G channels: statistics per (n, g)
//    over the group's (C/G)*S contiguous elements, affine per channel. Layer norm is group
//    norm with G = 1 and S = 1 (rows of C = prod(normalized_shape) elements, affine per
//    element), and RMS norm is the same without subtracting the mean.
// Sums accumulate in double, in a fixed order that never depends on the thread count.
#pragma once
#include "core/isa.h"
#include "core/tensor.h"

namespace pe::cpu {

struct BatchNormForwardArgs {
  DType dtype = DType::Float32;    // of every floating operand
  int64_t N = 0, C = 0, S = 0;     // x viewed as (N, C, S), contiguous
  const void* x = nullptr;
  void* y = nullptr;               // (N, C, S), contiguous
  const void* weight = nullptr;    // (C,) contiguous or null (= 1)
  const void* bias = nullptr;      // (C,) contiguous or null (= 0)
  // training: batch statistics, and (when running_mean is given) the running update
  //   running = (1 - momentum) * running + momentum * batch   (running_var gets the UNBIASED var);
  // eval: normalise with the running statistics.
  bool training = true;
  void* running_mean = nullptr;    // (C,) with stride running_mean_stride, or null
  void* running_var = nullptr;     // (C,) with stride running_var_stride
  int64_t running_mean_stride = 1;
  int64_t running_var_stride = 1;
  double momentum = 0.1;
  double eps = 1e-5;
  void* save_mean = nullptr;       // (C,) contiguous: the mean used (batch or running)
  void* save_invstd = nullptr;     // (C,) contiguous: 1 / sqrt(var + eps) used
};

struct BatchNormBackwardArgs {
  DType dtype = DType::Float32;
  int64_t N = 0, C = 0, S = 0;
  bool training = true;            // false: mean/invstd were constants (eval mode)
  const void* grad = nullptr;      // (N, C, S) contiguous
  const void* x = nullptr;         // (N, C, S) contiguous
  const void* weight = nullptr;    // (C,) or null (= 1)
  const void* mean = nullptr;      // (C,) save_mean of the forward
  const void* invstd = nullptr;    // (C,) save_invstd of the forward
  void* grad_input = nullptr;      // each output may be null (not needed)
  void* grad_weight = nullptr;
  void* grad_bias = nullptr;
};

struct GroupNormForwardArgs {
  DType dtype = DType::Float32;
  int64_t N = 0, C = 0, S = 0, G = 1;  // x viewed as (N, C, S), C divisible by G
  bool subtract_mean = true;           // false: RMS norm (x * rstd * w)
  const void* x = nullptr;
  void* y = nullptr;
  const void* weight = nullptr;        // (C,) or null
  const void* bias = nullptr;          // (C,) or null
  double eps = 1e-5;
  void* mean = nullptr;                // (N, G) contiguous; null when !subtract_mean
  void* rstd = nullptr;                // (N, G) contiguous
};

struct GroupNormBackwardArgs {
  DType dtype = DType::Float32;
  int64_t N = 0, C = 0, S = 0, G = 1;
  bool subtract_mean = true;
  const void* grad = nullptr;
  const void* x = nullptr;
  const void* weight = nullptr;
  const void* mean = nullptr;          // (N, G); null when !subtract_mean
  const void* rstd = nullptr;          // (N, G)
  void* grad_input = nullptr;          // each may be null
  void* grad_weight = nullptr;
  void* grad_bias = nullptr;
};

}  // namespace pe::cpu

#define PE_DECLARE_NORM(isa)                                               \
  namespace pe::cpu::isa {                                                 \
  void batch_norm_forward(const ::pe::cpu::BatchNormForwardArgs& a);       \
  void batch_norm_backward(const ::pe::cpu::BatchNormBackwardArgs& a);     \
  void group_norm_forward(const ::pe::cpu::GroupNormForwardArgs& a);       \
  void group_norm_backward(const ::pe::cpu::GroupNormBackwardArgs& a);     \
  }
PE_FOR_EACH_ISA(PE_DECLARE_NORM)
#undef PE_DECLARE_NORM

// Normalization ops: batch norm, group norm, layer norm and RMS norm, each a forward that
// also returns the statistics its fused backward needs. Float32/float64, every operand on the
// input's device; inputs of any layout (other layouts are copied once); results contiguous.
// Optional operands (weight, bias, running stats) are std::nullopt when absent. Device-neutral:
// validates, allocates, ends in one kernel slot.
#pragma once
#include <array>
#include <optional>
#include <tuple>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

using OptTensor = std::optional<Tensor>;
// Which gradients a backward computes: (input, weight, bias). Unrequested ones are nullopt.
using GradMask = std::array<bool, 3>;
using NormGrads = std::tuple<OptTensor, OptTensor, OptTensor>;

// x: (N, C, *). Returns (out, save_mean (C,), save_invstd (C,)). In training, batch statistics
// normalise x and, when running_mean/running_var are given, update them in place with
// `momentum` (nullopt: cumulative average, factor 1 / num_batches_tracked); num_batches_tracked
// (an int64 scalar tensor), when given, is incremented first. In eval the running statistics
// normalise x (and are required). save_mean/save_invstd are the statistics actually used.
std::tuple<Tensor, Tensor, Tensor> batch_norm_forward(const Tensor& x, const OptTensor& weight,
                                                      const OptTensor& bias, const OptTensor& running_mean,
                                                      const OptTensor& running_var,
                                                      const OptTensor& num_batches_tracked, bool training,
                                                      std::optional<double> momentum, double eps);
NormGrads batch_norm_backward(const Tensor& grad, const Tensor& x, const OptTensor& weight,
                              const Tensor& save_mean, const Tensor& save_invstd, bool training, GradMask mask);

// x: (N, C, *), C divisible by num_groups. Returns (out, mean (N, G), rstd (N, G)).
std::tuple<Tensor, Tensor, Tensor> group_norm_forward(const Tensor& x, int64_t num_groups, const OptTensor& weight,
                                                      const OptTensor& bias, double eps);
NormGrads group_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                              int64_t num_groups, const OptTensor& weight, GradMask mask);

// x: (*, normalized_shape). Returns (out, mean (M,), rstd (M,)), M = rows (product of the
// leading dims).
std::tuple<Tensor, Tensor, Tensor> layer_norm_forward(const Tensor& x, const Shape& normalized_shape,
                                                      const OptTensor& weight, const OptTensor& bias, double eps);
NormGrads layer_norm_backward(const Tensor& grad, const Tensor& x, const Shape& normalized_shape,
                              const Tensor& mean, const Tensor& rstd, const OptTensor& weight, GradMask mask);

// x: (*, normalized_shape); y = x / sqrt(mean(x^2) + eps) * weight. Returns (out, rstd (M,)).
std::tuple<Tensor, Tensor> rms_norm_forward(const Tensor& x, const Shape& normalized_shape, const OptTensor& weight,
                                            double eps);
// Returns (grad_input, grad_weight); grad_bias of the mask is ignored.
NormGrads rms_norm_backward(const Tensor& grad, const Tensor& x, const Shape& normalized_shape, const Tensor& rstd,
                            const OptTensor& weight, GradMask mask);

// ---------------------------------------------------------------- kernels
// Every tensor reaches the kernels contiguous (the op layer copies other layouts once), so the
// input is described only by sizes:
//  - batch norm sees x as (N, C, S): statistics per channel c over the N planes of S elements;
//  - group norm sees x as (N, C, S) split into G groups of C/G channels: statistics per (n, g)
//    over the group's (C/G)*S contiguous elements, affine per channel. Layer norm is group
//    norm with G = 1 and S = 1 (rows of C = prod(normalized_shape) elements, affine per
//    element), and RMS norm is the same without subtracting the mean.
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

// Kernel contract: dtype float32/float64 for every floating operand; N*C*S > 0; pointers on the
// slot's device. Forward: var is the biased variance (mean of squares for RMS norm), invstd /
// rstd = 1 / sqrt(var + eps), y = (x - mean) * invstd * w + b. Batch norm in training also
// updates the running statistics in place (running_var with the unbiased variance, N*S > 1);
// in eval it reads them. Backward over the M elements sharing one mean, xhat = (x - mean) * invstd:
//   dx = w * invstd * (dy - mean(dy) - xhat * mean(dy * xhat))   (RMS norm: no mean(dy) term;
//   eval-mode batch norm: dx = w * invstd * dy), dw = sum(dy * xhat), db = sum(dy).
inline KernelSlot<void (*)(const BatchNormForwardArgs&)> batch_norm_forward_kernel{"batch_norm"};
inline KernelSlot<void (*)(const BatchNormBackwardArgs&)> batch_norm_backward_kernel{"batch_norm_backward"};
inline KernelSlot<void (*)(const GroupNormForwardArgs&)> group_norm_forward_kernel{"group_norm"};
inline KernelSlot<void (*)(const GroupNormBackwardArgs&)> group_norm_backward_kernel{"group_norm_backward"};

}  // namespace pe::ops

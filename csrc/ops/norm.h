// Normalization ops: batch norm, group norm, layer norm and RMS norm, each a forward that
// also returns the statistics its fused backward needs. Float32/float64 on the CPU (CUDA
// tensors raise RuntimeError); inputs of any layout (other layouts are copied once); results
// contiguous. Optional operands (weight, bias, running stats) are std::nullopt when absent.
#pragma once
#include <array>
#include <optional>
#include <tuple>

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

}  // namespace pe::ops

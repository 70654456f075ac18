// Convolutions: conv2d and conv_transpose2d, forward and backward (1-D convolutions are 2-D ones
// on an H=1 view, done by the Python layer). Arguments are checked here once; the three kernels
// in cpu/conv.h do the math. float32/float64, CPU only (CUDA tensors raise RuntimeError).
#pragma once
#include <array>
#include <optional>
#include <tuple>
#include <vector>

#include "core/tensor.h"

namespace pe::ops {

using OptTensor = std::optional<Tensor>;
using ConvGrads = std::tuple<OptTensor, OptTensor, OptTensor>;  // (input, weight, bias)

// stride/dilation: 2 ints (h, w); padding: 2 ints (h, w, both sides) or 4 (top, bottom, left,
// right). x (N, C, H, W), w (K, C/groups, kH, kW), b (K,) or none.
Tensor conv2d(const Tensor& x, const Tensor& w, const OptTensor& b, const std::vector<int64_t>& stride,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups);
// output_mask says which of (grad input, grad weight, grad bias) to compute; the rest are none.
ConvGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                          const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                          const std::vector<int64_t>& dilation, int64_t groups, std::array<bool, 3> output_mask);

// x (N, C_in, H, W), w (C_in, C_out/groups, kH, kW), b (C_out,) or none; padding 2 ints.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const OptTensor& b, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& output_padding,
                        int64_t groups, const std::vector<int64_t>& dilation);
ConvGrads conv_transpose2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                                    const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                    const std::vector<int64_t>& output_padding, int64_t groups,
                                    const std::vector<int64_t>& dilation, std::array<bool, 3> output_mask);

}  // namespace pe::ops

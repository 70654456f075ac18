// Max / average / adaptive pooling over the last one (1-D) or two (2-D) dims, forward and
// backward, with PyTorch's arguments and rules. Inputs: (N, C, H, W) or unbatched (C, H, W) for
// 2-D, (N, C, L) or (C, L) for 1-D; any strides; float32/float64 (max pooling also int64).
// Outputs are contiguous. Window arguments are lists of 1 or 2 ints (1-D: 1 int); an empty
// stride means "the kernel size". Max pooling's indices are int64, the argmax as h * W + w within
// its plane (1-D: the position), like PyTorch's. CPU only: CUDA tensors raise RuntimeError.
#pragma once
#include <optional>
#include <utility>

#include "core/tensor.h"

namespace pe::ops {

// (output, indices); indices is an undefined Tensor unless return_indices.
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                                     const Shape& padding, const Shape& dilation, bool ceil_mode,
                                     bool return_indices);
std::pair<Tensor, Tensor> max_pool1d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                                     const Shape& padding, const Shape& dilation, bool ceil_mode,
                                     bool return_indices);
std::pair<Tensor, Tensor> adaptive_max_pool2d(const Tensor& x, const Shape& output_size, bool return_indices);
std::pair<Tensor, Tensor> adaptive_max_pool1d(const Tensor& x, const Shape& output_size, bool return_indices);

Tensor avg_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride, const Shape& padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override);
Tensor avg_pool1d(const Tensor& x, const Shape& kernel_size, const Shape& stride, const Shape& padding,
                  bool ceil_mode, bool count_include_pad);
Tensor adaptive_avg_pool2d(const Tensor& x, const Shape& output_size);
Tensor adaptive_avg_pool1d(const Tensor& x, const Shape& output_size);

// Backward of every max pooling (fixed or adaptive): dL/dy is added into dL/dx at the saved
// indices. `input_shape` is the forward input's shape; grad and indices have the output's.
Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape);
Tensor max_pool1d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape);
// Backward of average pooling: dL/dy / divisor spread over each window (same arguments as forward).
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, const Shape& kernel_size,
                           const Shape& stride, const Shape& padding, bool ceil_mode, bool count_include_pad,
                           std::optional<int64_t> divisor_override);
Tensor avg_pool1d_backward(const Tensor& grad, const Shape& input_shape, const Shape& kernel_size,
                           const Shape& stride, const Shape& padding, bool ceil_mode, bool count_include_pad);
Tensor adaptive_avg_pool2d_backward(const Tensor& grad, const Shape& input_shape);
Tensor adaptive_avg_pool1d_backward(const Tensor& grad, const Shape& input_shape);

}  // namespace pe::ops

// Max / average / adaptive pooling over the last one (1-D) or two (2-D) dims, forward and
// backward, with PyTorch's arguments and rules. Inputs: (N, C, H, W) or unbatched (C, H, W) for
// 2-D, (N, C, L) or (C, L) for 1-D; any strides; float32/float64 (max pooling also int64).
// Outputs are contiguous. Window arguments are lists of 1 or 2 ints (1-D: 1 int); an empty
// stride means "the kernel size". Max pooling's indices are int64, the argmax as h * W + w within
// its plane (1-D: the position), like PyTorch's. Device-neutral: validates once, tabulates the
// windows, allocates, ends in one of the kernel slots below.
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/dispatch.h"
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

// ---------------------------------------------------------------- kernels
// Every pooling flavour - max / average, fixed or adaptive windows, 1-D as 2-D with H = 1 - is
// reduced to one description: the N*C planes of the input and, per spatial axis, a table saying
// where each output's window lies in the input (PoolAxis). Kernels only walk those tables; they
// never recompute padding, ceil_mode or adaptive rules.

// One spatial axis. Output o reads the inputs first[o] + t * dilation for t < count[o]: the taps
// of its window that lie inside the input (padding taps are dropped here, once). Windows that are
// regular and fully inside the input - outputs [full_lo, full_hi) with first = o * stride - pad and
// count = kernel - may take a faster interior path. With dilation 1 (average and adaptive
// pooling) both window ends, first[o] and first[o] + count[o] - 1, are non-decreasing in o.
struct PoolAxis {
  int64_t in = 0, out = 0;
  int64_t dilation = 1;
  std::vector<int64_t> first, count;
  std::vector<int64_t> extent;  // average pooling: this axis's factor of the divisor
  int64_t kernel = 0, stride = 0, pad = 0;
  int64_t full_lo = 0, full_hi = 0;  // empty when the windows are not regular
};

struct PoolArgs {
  DType dtype = DType::Float32;
  int64_t batch = 0, channels = 0;  // planes = batch * channels
  PoolAxis h, w;
  // Forward only: x is read with x_strides (N, C, H, W), y is written contiguous (N, C, OH, OW).
  // The backward kernels take dL/dy (contiguous, output shape) and write dL/dx (contiguous,
  // input shape) and use only the geometry above.
  const void* x = nullptr;
  int64_t x_strides[4] = {0, 0, 0, 0};
  void* y = nullptr;
  // Max pooling: argmax per output as h * W + w within its plane (PyTorch's layout); -1 marks a
  // window with no input element (possible only when dilation steps over the whole input).
  int64_t* indices = nullptr;
  int64_t divisor_override = 0;  // average pooling: 0 = none, else divides every window sum
};

// Kernel contract. Pointers are on the slot's device; planes > 0 and the output is non-empty.
// dtype: float32/float64 (max forward also int64). Max: a tap replaces the best so far when it
// is larger or NaN (NaN propagates, the first of equal values keeps the index); no tap at all
// gives lowest() and index -1. Average: the window sum divided by divisor_override, else by
// (h.count ? h.extent : 1) * (w.count ? w.extent : 1), so an empty window gives 0.
inline KernelSlot<void (*)(const PoolArgs&)> max_pool_forward_kernel{"max pooling"};
inline KernelSlot<void (*)(const PoolArgs&)> avg_pool_forward_kernel{"average pooling"};
// Backward: gx (input shape, contiguous) is overwritten. Max adds gy[o] at indices[o] of its
// plane; an index outside [0, H*W) other than -1 makes it return false (gx is then unspecified)
// and the op raises IndexError. Average spreads gy / divisor over each window's taps.
inline KernelSlot<bool (*)(const PoolArgs&, void* gx, const void* gy, const int64_t* indices)>
    max_pool_backward_kernel{"max pooling backward"};
inline KernelSlot<void (*)(const PoolArgs&, void* gx, const void* gy)> avg_pool_backward_kernel{
    "average pooling backward"};

}  // namespace pe::ops

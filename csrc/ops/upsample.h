// Upsampling (F.interpolate) by nearest-neighbour or (bi)linear interpolation over the last one
// (N, C, L) or two (N, C, H, W) dims, forward and backward, with PyTorch's source-index
// arithmetic (align_corners, scale factor given or output size given). Any input strides;
// float32/float64; outputs contiguous. Device-neutral: validates, computes the output size with
// checked arithmetic, tabulates each axis's source indices and weights once (the kernels never
// redo PyTorch's index rules), allocates, and ends in one kernel slot.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

// mode: "nearest" or "linear" (linear is bilinear on a 4-D input). Exactly one of output_size
// (one int per spatial dim) and scales (one factor per spatial dim) is non-empty: with scales
// the output size is floor(in * scale) and the factors also drive the index arithmetic
// (PyTorch's scale_factor path without recompute_scale_factor).
Tensor upsample(const Tensor& x, const std::string& mode, const Shape& output_size, const std::vector<double>& scales,
                bool align_corners);
// dL/dx from dL/dy (shape (N, C, *output_size)): the forward's input shape, its output size
// (always given) and the scales it was called with (empty when it was given a size).
Tensor upsample_backward(const Tensor& grad, const Shape& input_shape, const std::string& mode,
                         const Shape& output_size, const std::vector<double>& scales, bool align_corners);

// ---------------------------------------------------------------- kernels
// One spatial axis (1-D inputs get a trivial H axis: in = out = 1, one tap of weight 1).
// Output o reads input i0[o] with weight w0[o] and, when `two_taps`, input i1[o] with weight
// w1[o] (nearest: one tap of weight 1). The adjoint, for backward as a gather: input i is read
// by the entries [start[i], start[i + 1]) of (src, weight), outputs in increasing order.
struct UpsampleAxis {
  int64_t in = 1, out = 1;
  bool two_taps = false;
  std::vector<int64_t> i0, i1;
  std::vector<double> w0, w1;  // exact in the input's dtype (computed in it, as PyTorch does)
  std::vector<int64_t> start, src;
  std::vector<double> weight;
};

struct UpsampleArgs {
  DType dtype = DType::Float32;
  int64_t batch = 0, channels = 0;  // planes = batch * channels
  UpsampleAxis h, w;
  // Forward: x read with x_strides (N, C, H, W); out written contiguous (N, C, OH, OW).
  // Backward: in = dL/dy, contiguous (N, C, OH, OW); out = dL/dx, contiguous (N, C, H, W).
  const void* in = nullptr;
  int64_t x_strides[4] = {0, 0, 0, 0};
  void* out = nullptr;
};

// Kernel contract: float32/float64; batch * channels >= 1 and every axis size >= 1; out does
// not overlap the input; pointers on the slot's device. Forward, per output (oh, ow), with
// row(i) = w0w * x[i, i0w] + w1w * x[i, i1w] (just w0w * x[i, i0w] with one tap):
//   y = w0h * row(i0h) + w1h * row(i1h)          (one H tap: w0h * row(i0h)),
// PyTorch's order of operations. Backward writes every element of dL/dx:
//   dx[h, w] = sum over (oh, wh) reading h of wh * (sum over (ow, ww) reading w of ww * g[oh, ow]),
// a gather (no atomics, deterministic).
inline KernelSlot<void (*)(const UpsampleArgs&)> upsample_forward_kernel{"upsample"};
inline KernelSlot<void (*)(const UpsampleArgs&)> upsample_backward_kernel{"upsample_backward"};

}  // namespace pe::ops

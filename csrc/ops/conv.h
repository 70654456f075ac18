// Convolutions: conv2d and conv_transpose2d, forward and backward (1-D convolutions are 2-D ones
// on an H=1 view, done by the Python layer, which passes one_d so that errors speak of the 1-D
// op). Arguments are checked here once; every op body ends in the kernel slots below.
// float32/float64 on every device whose backend fills the slots; float16/bfloat16 on the CPU
// (16-bit operands, float32 sums, each result rounded once).
#pragma once
#include <array>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

using OptTensor = std::optional<Tensor>;
using ConvGrads = std::tuple<OptTensor, OptTensor, OptTensor>;  // (input, weight, bias)

// one_d: the call is conv1d / conv_transpose1d on an H=1 view (x (N, C, 1, L), w (., ., 1, k),
// no stride, padding or dilation along H); its errors name the 1-D op and show the user's 3-D
// shapes (ConvCall).
//
// stride/dilation: 2 ints (h, w); padding: 2 ints (h, w, both sides) or 4 (top, bottom, left,
// right). x (N, C, H, W), w (K, C/groups, kH, kW), b (K,) or none.
Tensor conv2d(const Tensor& x, const Tensor& w, const OptTensor& b, const std::vector<int64_t>& stride,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups,
              bool one_d = false);
// output_mask says which of (grad input, grad weight, grad bias) to compute; the rest are none.
ConvGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                          const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                          const std::vector<int64_t>& dilation, int64_t groups, std::array<bool, 3> output_mask,
                          bool one_d = false);

// x (N, C_in, H, W), w (C_in, C_out/groups, kH, kW), b (C_out,) or none; padding 2 ints.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const OptTensor& b, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& output_padding,
                        int64_t groups, const std::vector<int64_t>& dilation, bool one_d = false);
ConvGrads conv_transpose2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                                    const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                    const std::vector<int64_t>& output_padding, int64_t groups,
                                    const std::vector<int64_t>& dilation, std::array<bool, 3> output_mask,
                                    bool one_d = false);

// How the user called a convolution, for every error about it (the op layer's checks and the
// kernels' own limits): conv1d and conv_transpose1d run as 2-D convolutions of an H=1 view, but
// their messages name the 1-D op and show the shapes and values the user passed.
struct ConvCall {
  std::string name = "conv2d";  // conv1d, conv_transpose2d, conv1d_backward, ...
  bool one_d = false;
  bool transposed = false;  // the kernels run the adjoint conv, whose input is this op's output
  ConvCall() = default;
  ConvCall(bool transposed, bool one_d, bool backward);
  std::string shape(const Shape& s) const;       // s; for a 1-D op without the H axis (dim 2 of 4)
  std::string pair(int64_t h, int64_t w) const;  // "(h, w)"; for a 1-D op "(w,)"
};

// ---------------------------------------------------------------- kernels
//
// One conv2d problem (cross-correlation, PyTorch's conv2d) as every kernel sees it. Three
// kernels cover conv2d and conv_transpose2d, forward and backward: the transposed convolution's
// forward IS conv2d's input gradient, and its backward is conv2d's forward plus conv2d's weight
// gradient, so the op layer only re-labels the operands.
//
// The op layer computes every size (out_h/out_w included), so a kernel never derives one shape
// from another; it has checked that they are consistent, that channels divide by groups, that
// the dilated kernel fits the padded input, and that no size overflows.
struct Conv2dShape {
  int64_t batch = 0, groups = 1;
  int64_t in_c = 0, in_h = 0, in_w = 0;     // convolution input (all groups)
  int64_t out_c = 0, out_h = 0, out_w = 0;  // convolution output (all groups)
  int64_t k_h = 1, k_w = 1;
  int64_t stride_h = 1, stride_w = 1;
  // Input row/column oh*stride_h - pad_top + kh*dil_h (likewise w); bottom/right padding only
  // shows in out_h/out_w, kernels need not read it.
  int64_t pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
  int64_t dil_h = 1, dil_w = 1;
  int64_t x_strides[4] = {0, 0, 0, 0};  // element strides of the conv input x (N, C, H, W)
};

// Layouts the kernels may assume: the conv input x is (N, C, H, W) with the element strides of
// shape.x_strides (any view, overlapping or negative strides excluded); the weight w is
// contiguous (K, C/groups, kH, kW); y, gy, gx, gw are contiguous; outputs never alias inputs
// and are fully overwritten. Every pointer is on the slot's device, in `dtype` (float32 or
// float64; float16 or bfloat16 for the CPU kernels, which accumulate in float32). Outputs have
// at least one element (the op layer skips empty ones), but the reduction may be empty (batch 0
// for gw, C/groups = 0): it then yields 0 (+ bias).
struct Conv2dArgs {
  DType dtype = DType::Float32;
  ConvCall call;  // names the op in a kernel's own errors (the CUDA kernels' int range)
  Conv2dShape shape;
  const void* x = nullptr;     // conv input (N, C, H, W), strided: forward, weight gradient
  const void* w = nullptr;     // weight (K, C/g, kH, kW): forward, input gradient
  const void* bias = nullptr;  // or null: (K,) added to y by the forward; (C,) added to gx by the input gradient
  const void* gy = nullptr;    // output gradient (N, K, OH, OW): input and weight gradients
  void* out = nullptr;         // y (N, K, OH, OW) / gx (N, C, H, W) / gw (K, C/g, kH, kW), per slot
};

// out = y = conv(x, w) + bias.
inline KernelSlot<void (*)(const Conv2dArgs&)> conv2d_forward_kernel{"conv2d"};
// out = gx = dL/dx from gy (+ bias[c] when bias is set: conv_transpose2d's bias).
inline KernelSlot<void (*)(const Conv2dArgs&)> conv2d_input_grad_kernel{"conv2d input gradient"};
// out = gw = dL/dw from gy and x. Deterministic: no result depends on thread or block timing.
inline KernelSlot<void (*)(const Conv2dArgs&)> conv2d_weight_grad_kernel{"conv2d weight gradient"};

// A bias gradient: out[c] = the sum over n and p of in[n, c, p], in contiguous (N, C, P), out
// (C,), both `dtype`; N*P may be 0 (zeros). Deterministic.
struct ChannelSumArgs {
  DType dtype = DType::Float32;
  int64_t n = 0, c = 0, p = 0;
  const void* in = nullptr;
  void* out = nullptr;
};
inline KernelSlot<void (*)(const ChannelSumArgs&)> conv_bias_grad_kernel{"conv bias gradient"};

}  // namespace pe::ops

#include "ops/conv.h"

#include "core/checked.h"
#include "ops/copy.h"

namespace pe::ops {

ConvCall::ConvCall(bool transposed_, bool one_d_, bool backward)
    : name(str(transposed_ ? "conv_transpose" : "conv", one_d_ ? "1d" : "2d", backward ? "_backward" : "")),
      one_d(one_d_),
      transposed(transposed_) {}

std::string ConvCall::shape(const Shape& s) const {
  if (!one_d || s.size() != 4) return shape_str(s);
  return shape_str({s[0], s[1], s[3]});
}

std::string ConvCall::pair(int64_t h, int64_t w) const { return one_d ? shape_str({w}) : str("(", h, ", ", w, ")"); }

namespace {

// stride / padding / dilation after validation; padding always as (top, bottom, left, right).
struct Geometry {
  int64_t stride[2], dilation[2];
  int64_t pad[4];
};

// The list sizes are the binding's contract (the Python layer passes 2 or 4 ints, also for a
// 1-D op); the values are the user's.
void check_pair(const ConvCall& c, const char* what, const std::vector<int64_t>& v, int64_t min) {
  PE_CHECK(v.size() == 2, ValueError, c.name, ": expected ", what, " as 2 ints (h, w), got ", v.size(), " values");
  PE_CHECK(v[0] >= min && v[1] >= min, ValueError, c.name, ": ", what, " must be ",
           min > 0 ? "positive" : "non-negative", ", got ", c.pair(v[0], v[1]));
}

// Padding as (top, bottom, left, right), or (left, right) for a 1-D op, with its labels.
std::string pads_str(const ConvCall& c, const int64_t pad[4]) {
  if (c.one_d) return str("(left, right) ", shape_str({pad[2], pad[3]}));
  return str("(top, bottom, left, right) ", shape_str({pad[0], pad[1], pad[2], pad[3]}));
}

Geometry parse_geometry(const ConvCall& c, const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                        const std::vector<int64_t>& dilation, bool allow_asymmetric) {
  check_pair(c, "stride", stride, 1);
  check_pair(c, "dilation", dilation, 1);
  Geometry g{{stride[0], stride[1]}, {dilation[0], dilation[1]}, {0, 0, 0, 0}};
  if (padding.size() == 2) {
    check_pair(c, "padding", padding, 0);
    g.pad[0] = g.pad[1] = padding[0];
    g.pad[2] = g.pad[3] = padding[1];
  } else {
    PE_CHECK(allow_asymmetric && padding.size() == 4, ValueError, c.name, ": expected padding as ",
             allow_asymmetric ? "2 ints (h, w) or 4 (top, bottom, left, right)" : "2 ints (h, w)", ", got ",
             padding.size(), " values");
    for (int i = 0; i < 4; ++i) g.pad[i] = padding[i];
    for (int i = 0; i < 4; ++i)
      PE_CHECK(padding[i] >= 0, ValueError, c.name, ": padding must be non-negative, got ", pads_str(c, g.pad));
  }
  return g;
}

void check_groups(const ConvCall& c, int64_t groups) {
  PE_CHECK(groups >= 1, ValueError, c.name, ": groups must be positive, got ", groups);
}

// PyTorch needs at least one weight row (output channels for conv, input channels for the
// transposed conv) per group, before anything else about the weight.
void check_weight_rows(const ConvCall& c, const Tensor& w, int64_t groups) {
  PE_CHECK(w.ndim() != 4 || w.shape()[0] >= groups, ValueError, c.name, ": given groups=", groups,
           ", expected weight to be at least ", groups, " at dimension 0, but got weight of shape ",
           c.shape(w.shape()));
}

// An input with a zero batch or zero channels gives an empty (or bias-free) result, as in
// PyTorch; any other empty input (an empty spatial dim) is refused there, not convolved with
// the padding alone.
void check_input_not_empty(const ConvCall& c, const Tensor& x) {
  const Shape& s = x.shape();
  PE_CHECK(s[0] == 0 || s[1] == 0 || (s[2] > 0 && s[3] > 0), RuntimeError, c.name,
           ": only zero batch or zero channel inputs are supported, but got input shape ", c.shape(s));
}

// conv2d's output channels: the weight's, except that PyTorch gives an input of zero channels an
// output of zero channels (its "empty" path multiplies the input itself), whatever the weight.
int64_t conv_out_channels(const Tensor& x, const Tensor& w) { return x.shape()[1] == 0 ? 0 : w.shape()[0]; }

// Shared checks of input, weight and bias: 4-D, one floating dtype, one device, bias (channels,).
// (A 1-D op's tensors are H=1 views made by the Python layer: 4-D unless _C is called directly.)
void check_tensors(const ConvCall& c, const Tensor& x, const Tensor& w, const OptTensor& b, int64_t bias_len) {
  const char* name = c.name.c_str();
  PE_CHECK(x.ndim() == 4, ValueError, name, ": expected a 4-D input (N, C, H, W), got shape ", shape_str(x.shape()));
  PE_CHECK(w.ndim() == 4, ValueError, name, ": expected a 4-D weight, got shape ", shape_str(w.shape()));
  PE_CHECK(is_floating(x.dtype()), TypeError, name,
           ": expected a floating input (float32, float64, float16 or bfloat16), got ", dtype_name(x.dtype()));
  PE_CHECK(w.dtype() == x.dtype(), TypeError, name, ": input dtype ", dtype_name(x.dtype()), " and weight dtype ",
           dtype_name(w.dtype()), " differ");
  check_same_device(name, x, "input", w, "weight");
  if (!b) return;
  PE_CHECK(b->dtype() == x.dtype(), TypeError, name, ": input dtype ", dtype_name(x.dtype()), " and bias dtype ",
           dtype_name(b->dtype()), " differ");
  check_same_device(name, x, "input", *b, "bias");
  PE_CHECK(b->ndim() == 1 && b->shape()[0] == bias_len, ValueError, name, ": expected a bias of shape (", bias_len,
           ",), got ", shape_str(b->shape()));
}

// The kernel's description of a convolution whose input is `in` (N, C, H, W) with weight shape
// `w` (K, C/groups, kH, kW) and output size (out_h, out_w).
Conv2dShape make_shape(const Tensor& in, const Shape& w, int64_t out_h, int64_t out_w, const Geometry& g,
                       int64_t groups) {
  Conv2dShape s;
  s.batch = in.shape()[0], s.groups = groups;
  s.in_c = in.shape()[1], s.in_h = in.shape()[2], s.in_w = in.shape()[3];
  s.out_c = w[0], s.out_h = out_h, s.out_w = out_w;
  s.k_h = w[2], s.k_w = w[3];
  s.stride_h = g.stride[0], s.stride_w = g.stride[1];
  s.pad_top = g.pad[0], s.pad_bottom = g.pad[1], s.pad_left = g.pad[2], s.pad_right = g.pad[3];
  s.dil_h = g.dilation[0], s.dil_w = g.dilation[1];
  for (int i = 0; i < 4; ++i) s.x_strides[i] = in.strides()[i];
  // An axis with a single output reads only window 0, so its stride is never used - but the
  // CPU kernels split the padded image into stride phases (memory grows with the stride) and
  // the CUDA ones narrow it to int. Any stride past the padded input gives the same result;
  // the smallest one still consistent with one output is used (a stride of 2**62 must work).
  auto clamp = [](int64_t& stride, int64_t out, int64_t in, int64_t pads, int64_t k, int64_t d) {
    if (out == 1) stride = std::min(stride, std::max<int64_t>(1, in + pads - (d * (k - 1) + 1) + 1));
  };  // the sums were checked by conv_out_size / check_conv_transpose2d
  clamp(s.stride_h, s.out_h, s.in_h, s.pad_top + s.pad_bottom, s.k_h, s.dil_h);
  clamp(s.stride_w, s.out_w, s.in_w, s.pad_left + s.pad_right, s.k_w, s.dil_w);
  // Likewise a one-tap kernel never steps by its dilation.
  if (s.k_h == 1) s.dil_h = 1;
  if (s.k_w == 1) s.dil_w = 1;
  return s;
}

// PyTorch rejects an empty kernel (it would give output from no taps at all).
void check_kernel(const ConvCall& c, const Tensor& w) {
  if (w.shape()[2] > 0 && w.shape()[3] > 0) return;
  const std::string got = c.one_d ? str("kernel_size: ", w.shape()[3])
                                  : str("kernel_height: ", w.shape()[2], " kernel_width: ", w.shape()[3]);
  throw ValueError(str(c.name, ": kernel size should be greater than zero, but got ", got, " (weight shape ",
                       c.shape(w.shape()), ")"));
}

// The CPU kernels' scratch must be countable in bytes, or its sizes would wrap and the kernels
// write past it: the column matrix of C * kH * kW rows by the output positions (at least 256
// columns when small images are batched side by side). A zero-padded copy of the image is only
// made while it is within a few times the image plus that matrix (cpu/conv.cpp,
// padding_dominates), so padding and dilation alone never refuse a convolution.
void check_scratch(const ConvCall& c, int64_t channels, const Tensor& w, int64_t out_h, int64_t out_w, DType dtype) {
  const char* name = c.name.c_str();
  const int64_t positions = std::max<int64_t>(checked_mul(out_h, out_w, name), 256);
  checked_nbytes({channels, w.shape()[2], w.shape()[3], positions}, dtype, str(name, ": the column matrix").c_str());
}

// conv2d's output size; ValueError when the dilated kernel does not fit in the padded input,
// RuntimeError (ops: checked.h) when a size overflows int64.
std::array<int64_t, 2> conv_out_size(const ConvCall& c, const Tensor& x, const Tensor& w, const Geometry& g) {
  const char* name = c.name.c_str();
  std::array<int64_t, 2> out{};
  int64_t padded[2], span[2];
  for (int d = 0; d < 2; ++d) {
    WindowAxis a;
    a.in = x.shape()[2 + d], a.kernel = w.shape()[2 + d], a.stride = g.stride[d];
    a.pad_lo = g.pad[2 * d], a.pad_hi = g.pad[2 * d + 1], a.dilation = g.dilation[d];
    padded[d] = padded_length(name, a.in, a.pad_lo, a.pad_hi);
    span[d] = window_extent(name, a.kernel, a.dilation);
    out[d] = window_output_size(name, a);
  }
  PE_CHECK(padded[0] >= span[0] && padded[1] >= span[1], ValueError, name, ": kernel size ",
           c.pair(w.shape()[2], w.shape()[3]), " with dilation ", c.pair(g.dilation[0], g.dilation[1]), " spans ",
           c.pair(span[0], span[1]), ", larger than the padded input ", c.pair(padded[0], padded[1]),
           " (input shape ", c.shape(x.shape()), ", padding ", pads_str(c, g.pad), ")");
  check_scratch(c, x.shape()[1], w, out[0], out[1], x.dtype());
  return out;
}

// Checks of a conv2d call; returns its output size.
std::array<int64_t, 2> check_conv2d(const ConvCall& c, const Tensor& x, const Tensor& w, const OptTensor& b,
                                    const Geometry& g, int64_t groups) {
  const char* name = c.name.c_str();
  check_groups(c, groups);
  check_weight_rows(c, w, groups);
  check_tensors(c, x, w, b, w.ndim() == 4 ? w.shape()[0] : 0);
  check_kernel(c, w);
  PE_CHECK(w.shape()[0] % groups == 0, ValueError, name, ": out channels ", w.shape()[0], " (weight ",
           c.shape(w.shape()), ") are not divisible by groups ", groups);
  PE_CHECK(x.shape()[1] == w.shape()[1] * groups, ValueError, name, ": expected input with ",
           w.shape()[1] * groups, " channels (weight ", c.shape(w.shape()), ", groups ", groups,
           "), got input of shape ", c.shape(x.shape()));
  const auto out = conv_out_size(c, x, w, g);
  check_input_not_empty(c, x);
  return out;
}

void check_grad(const ConvCall& c, const Tensor& grad, const Shape& expected, const Tensor& x) {
  const char* name = c.name.c_str();
  PE_CHECK(grad.shape() == expected, ValueError, name, ": expected grad_output of shape ", c.shape(expected),
           ", got ", c.shape(grad.shape()));
  PE_CHECK(grad.dtype() == x.dtype(), TypeError, name, ": grad_output dtype ", dtype_name(grad.dtype()),
           " and input dtype ", dtype_name(x.dtype()), " differ");
  check_same_device(name, x, "input", grad, "grad_output");
}

const void* bias_data(const OptTensor& b, OptTensor& keep) {
  if (!b) return nullptr;
  keep = contiguous(*b);
  return keep->raw_data();
}

// The kernels' description of a convolution (ops/conv.h), operands left unset.
Conv2dArgs make_args(const ConvCall& c, const Tensor& in, const Shape& w, int64_t out_h, int64_t out_w,
                     const Geometry& g, int64_t groups) {
  Conv2dArgs a;
  a.dtype = in.dtype();
  a.call = c;
  a.shape = make_shape(in, w, out_h, out_w, g, groups);
  return a;
}

// The bias gradient (channels,) from grad contiguous (N, C, H, W); zeros when the output has
// no channels for the bias (an input of zero channels, conv_out_channels).
Tensor bias_grad(const Tensor& grad, int64_t channels) {
  Tensor gb = Tensor::empty({channels}, grad.dtype(), grad.device());
  if (gb.numel() == 0) return gb;
  if (grad.shape()[1] != channels) {
    fill_(gb, Scalar(0.0));
    return gb;
  }
  ChannelSumArgs a;
  a.dtype = grad.dtype();
  a.n = grad.shape()[0], a.c = grad.shape()[1], a.p = grad.shape()[2] * grad.shape()[3];
  a.in = grad.raw_data(), a.out = gb.raw_data();
  conv_bias_grad_kernel(grad.device(), a);
  return gb;
}

// Allocates a gradient of `shape` and runs `slot` into it (nothing to run when it is empty).
Tensor run_into(const KernelSlot<void (*)(const Conv2dArgs&)>& slot, Conv2dArgs a, const Shape& shape,
                const Tensor& like) {
  Tensor out = Tensor::empty(shape, like.dtype(), like.device());
  if (out.numel() == 0) return out;
  a.out = out.raw_data();
  slot(out.device(), a);
  return out;
}

// conv_transpose2d's output size: (in - 1) * stride - 2 * pad + dilation * (k - 1) + output_padding + 1.
std::array<int64_t, 2> check_conv_transpose2d(const ConvCall& c, const Tensor& x, const Tensor& w,
                                              const OptTensor& b, const Geometry& g,
                                              const std::vector<int64_t>& output_padding, int64_t groups) {
  const char* name = c.name.c_str();
  check_groups(c, groups);
  check_weight_rows(c, w, groups);
  check_tensors(c, x, w, b, w.ndim() == 4 ? checked_mul(w.shape()[1], groups, str(name, ": out channels per group * groups").c_str()) : 0);
  check_kernel(c, w);
  PE_CHECK(x.shape()[1] == w.shape()[0], ValueError, name, ": expected input with ", w.shape()[0],
           " channels (weight ", c.shape(w.shape()), ", groups ", groups, "), got input of shape ",
           c.shape(x.shape()));
  PE_CHECK(w.shape()[0] % groups == 0, ValueError, name, ": in channels ", w.shape()[0], " (weight ",
           c.shape(w.shape()), ") are not divisible by groups ", groups);
  // PyTorch's kernels refuse a weight with no output channels (and its empty path indexes one).
  PE_CHECK(w.shape()[1] > 0, RuntimeError, name, ": non-empty ", c.one_d ? "3" : "4",
           "-D weight expected, but got weight of shape ", c.shape(w.shape()));
  check_input_not_empty(c, x);
  check_pair(c, "output_padding", output_padding, 0);
  std::array<int64_t, 2> out{};
  for (int d = 0; d < 2; ++d) {
    PE_CHECK(output_padding[d] < std::max(g.stride[d], g.dilation[d]), ValueError, name, ": output_padding ",
             c.pair(output_padding[0], output_padding[1]), " must be smaller than either stride ",
             c.pair(g.stride[0], g.stride[1]), " or dilation ", c.pair(g.dilation[0], g.dilation[1]));
    out[d] = conv_transpose_output_size(name, x.shape()[2 + d], w.shape()[2 + d], g.stride[d], g.pad[2 * d],
                                        g.dilation[d], output_padding[d]);
  }
  PE_CHECK(out[0] > 0 && out[1] > 0, ValueError, name, ": output size ", c.pair(out[0], out[1]),
           " is not positive (input shape ", c.shape(x.shape()), ", weight ", c.shape(w.shape()), ", padding ",
           c.pair(g.pad[0], g.pad[2]), ")");
  // The adjoint conv (y -> x) reads the output padded like a conv2d input: its windows reach
  // (in - 1) * stride + dilation * (k - 1) + 1 = out + 2 * pad - output_padding, which must count.
  for (int d = 0; d < 2; ++d) checked_add(out[d], 2 * g.pad[2 * d], name);
  // Its column matrix has x's positions.
  check_scratch(c, w.shape()[1] * groups, w, x.shape()[2], x.shape()[3], x.dtype());
  return out;
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& w, const OptTensor& b, const std::vector<int64_t>& stride,
              const std::vector<int64_t>& padding, const std::vector<int64_t>& dilation, int64_t groups, bool one_d) {
  const ConvCall c(false, one_d, false);
  const Geometry g = parse_geometry(c, stride, padding, dilation, true);
  const auto o = check_conv2d(c, x, w, b, g, groups);
  const Tensor wc = contiguous(w);
  OptTensor bc;
  Conv2dArgs a = make_args(c, x, w.shape(), o[0], o[1], g, groups);
  a.x = x.raw_data(), a.w = wc.raw_data(), a.bias = bias_data(b, bc);
  return run_into(conv2d_forward_kernel, a, {x.shape()[0], conv_out_channels(x, w), o[0], o[1]}, x);
}

ConvGrads conv2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                          const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                          const std::vector<int64_t>& dilation, int64_t groups, std::array<bool, 3> output_mask,
                          bool one_d) {
  const ConvCall c(false, one_d, true);
  const Geometry g = parse_geometry(c, stride, padding, dilation, true);
  const auto o = check_conv2d(c, x, w, std::nullopt, g, groups);
  check_grad(c, grad_out, {x.shape()[0], conv_out_channels(x, w), o[0], o[1]}, x);
  const Tensor gy = contiguous(grad_out), wc = contiguous(w);
  Conv2dArgs a = make_args(c, x, w.shape(), o[0], o[1], g, groups);
  a.x = x.raw_data(), a.w = wc.raw_data(), a.gy = gy.raw_data();
  OptTensor gx, gw, gb;
  if (output_mask[0]) gx = run_into(conv2d_input_grad_kernel, a, x.shape(), x);
  if (output_mask[1]) gw = run_into(conv2d_weight_grad_kernel, a, w.shape(), x);
  if (output_mask[2]) gb = bias_grad(gy, w.shape()[0]);
  return {gx, gw, gb};
}

// The transposed convolution is the adjoint of conv2d(out -> x): its forward is that conv's
// input gradient and its backward that conv's forward and weight gradient.
Tensor conv_transpose2d(const Tensor& x, const Tensor& w, const OptTensor& b, const std::vector<int64_t>& stride,
                        const std::vector<int64_t>& padding, const std::vector<int64_t>& output_padding,
                        int64_t groups, const std::vector<int64_t>& dilation, bool one_d) {
  const ConvCall c(true, one_d, false);
  const Geometry g = parse_geometry(c, stride, padding, dilation, false);
  const auto o = check_conv_transpose2d(c, x, w, b, g, output_padding, groups);
  Tensor y = Tensor::empty({x.shape()[0], w.shape()[1] * groups, o[0], o[1]}, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  const Tensor xc = contiguous(x), wc = contiguous(w);
  OptTensor bc;
  Conv2dArgs a = make_args(c, y, w.shape(), x.shape()[2], x.shape()[3], g, groups);  // the adjoint conv's input is y
  a.gy = xc.raw_data(), a.w = wc.raw_data(), a.bias = bias_data(b, bc), a.out = y.raw_data();
  conv2d_input_grad_kernel(y.device(), a);
  return y;
}

ConvGrads conv_transpose2d_backward(const Tensor& grad_out, const Tensor& x, const Tensor& w,
                                    const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                    const std::vector<int64_t>& output_padding, int64_t groups,
                                    const std::vector<int64_t>& dilation, std::array<bool, 3> output_mask,
                                    bool one_d) {
  const ConvCall c(true, one_d, true);
  const Geometry g = parse_geometry(c, stride, padding, dilation, false);
  const auto o = check_conv_transpose2d(c, x, w, std::nullopt, g, output_padding, groups);
  check_grad(c, grad_out, {x.shape()[0], w.shape()[1] * groups, o[0], o[1]}, x);
  const Tensor xc = contiguous(x), wc = contiguous(w);
  // The adjoint conv reads grad_out as its input (any strides) and writes x's shape.
  Conv2dArgs a = make_args(c, grad_out, w.shape(), x.shape()[2], x.shape()[3], g, groups);
  a.x = grad_out.raw_data(), a.w = wc.raw_data(), a.gy = xc.raw_data();
  OptTensor gx, gw, gb;
  if (output_mask[0]) gx = run_into(conv2d_forward_kernel, a, x.shape(), x);
  if (output_mask[1]) gw = run_into(conv2d_weight_grad_kernel, a, w.shape(), x);
  if (output_mask[2]) gb = bias_grad(contiguous(grad_out), grad_out.shape()[1]);
  return {gx, gw, gb};
}

}  // namespace pe::ops

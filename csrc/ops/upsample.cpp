#include "ops/upsample.h"

#include <algorithm>
#include <cmath>

#include "core/checked.h"
#include "ops/copy.h"

namespace pe::ops {

namespace {

// ---------------------------------------------------------------- PyTorch's index arithmetic
// (aten/src/ATen/native/UpSample.h), computed in T = the op's math type: float for float32
// inputs, double for float64, so the weights are PyTorch's to the bit.

// The source-per-destination step when no align_corners: 1 / scale_factor when one was given
// (and is positive), else in / out.
template <class T>
T scale_value(bool has_scale, double scale, int64_t in, int64_t out) {
  return has_scale && scale > 0. ? static_cast<T>(1.0 / scale) : static_cast<T>(in) / out;
}

// Nearest: floor(o * scale) clamped to the last input, with PyTorch's exact shortcuts for the
// same size and for doubling. Always float arithmetic, whatever the dtype (as PyTorch).
void nearest_axis(UpsampleAxis& a, bool has_scale, double scale) {
  const float s = scale_value<float>(has_scale, scale, a.in, a.out);
  for (int64_t o = 0; o < a.out; ++o) {
    int64_t i;
    if (a.out == a.in)
      i = o;
    else if (a.out == 2 * a.in)
      i = o >> 1;
    else
      i = std::min(static_cast<int64_t>(std::floor(static_cast<float>(o) * s)), a.in - 1);
    a.i0[o] = a.i1[o] = i;
    a.w0[o] = 1.0;
    a.w1[o] = 0.0;
  }
}

// Linear: the source coordinate (o + 0.5) * scale - 0.5 clamped at 0 (align_corners: o * (in - 1)
// / (out - 1)), split into a floor index and a fraction; the second tap is the next input
// (the same one at the right edge).
template <class T>
void linear_axis(UpsampleAxis& a, bool align_corners, bool has_scale, double scale) {
  T ratio;
  if (align_corners)
    ratio = a.out > 1 ? static_cast<T>(a.in - 1) / static_cast<T>(a.out - 1) : T(0);
  else
    ratio = scale_value<T>(has_scale, scale, a.in, a.out);
  for (int64_t o = 0; o < a.out; ++o) {
    if (a.out == a.in) {  // scale 1: a copy
      a.i0[o] = a.i1[o] = o;
      a.w0[o] = 1.0;
      a.w1[o] = 0.0;
      continue;
    }
    T real;
    if (align_corners) {
      real = ratio * static_cast<T>(o);
    } else {
      real = ratio * (static_cast<T>(o) + static_cast<T>(0.5)) - static_cast<T>(0.5);
      if (real < 0) real = T(0);
    }
    // PyTorch floors through floorf (float) for both dtypes.
    const int64_t i0 = std::min(static_cast<int64_t>(std::floor(static_cast<float>(real))), a.in - 1);
    const T lambda1 = std::min(std::max(real - static_cast<T>(i0), T(0)), T(1));
    a.i0[o] = i0;
    a.i1[o] = i0 + (i0 < a.in - 1 ? 1 : 0);
    a.w1[o] = lambda1;
    a.w0[o] = static_cast<T>(1) - lambda1;
  }
}

// The adjoint lists: for each input, the (output, weight) pairs that read it, by output.
void tabulate_adjoint(UpsampleAxis& a) {
  a.start.assign(a.in + 1, 0);
  for (int64_t o = 0; o < a.out; ++o) {
    ++a.start[a.i0[o] + 1];
    if (a.two_taps) ++a.start[a.i1[o] + 1];
  }
  for (int64_t i = 0; i < a.in; ++i) a.start[i + 1] += a.start[i];
  std::vector<int64_t> next(a.start.begin(), a.start.end() - 1);
  a.src.resize(a.start[a.in]);
  a.weight.resize(a.start[a.in]);
  for (int64_t o = 0; o < a.out; ++o) {
    int64_t k = next[a.i0[o]]++;
    a.src[k] = o, a.weight[k] = a.w0[o];
    if (a.two_taps) {
      k = next[a.i1[o]]++;
      a.src[k] = o, a.weight[k] = a.w1[o];
    }
  }
}

UpsampleAxis make_axis(int64_t in, int64_t out, bool linear, bool align_corners, bool has_scale, double scale,
                       DType dtype, bool adjoint) {
  UpsampleAxis a;
  a.in = in, a.out = out, a.two_taps = linear;
  a.i0.resize(out), a.i1.resize(out), a.w0.resize(out), a.w1.resize(out);
  if (!linear)
    nearest_axis(a, has_scale, scale);
  else if (dtype == DType::Float64)
    linear_axis<double>(a, align_corners, has_scale, scale);
  else
    linear_axis<float>(a, align_corners, has_scale, scale);
  if (adjoint) tabulate_adjoint(a);
  return a;
}

UpsampleAxis trivial_axis(bool adjoint) {
  UpsampleAxis a;
  a.i0 = a.i1 = {0};
  a.w0 = {1.0}, a.w1 = {0.0};
  if (adjoint) tabulate_adjoint(a);
  return a;
}

// ---------------------------------------------------------------- argument checks
bool is_linear(const std::string& mode, const char* op) {
  PE_CHECK(mode == "nearest" || mode == "linear", ValueError, op, ": mode must be 'nearest' or 'linear', got '",
           mode, "'");
  return mode == "linear";
}

void check_spatial(int64_t ndim, const char* op) {
  PE_CHECK(ndim == 3 || ndim == 4, ValueError, op,
           ": expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got a ", ndim, "-D one");
}

// The output's spatial sizes: output_size as given, or floor(in * scale) with the product
// checked (an infinite or huge scale factor is an error, never a wrapped size).
Shape output_spatial(const Shape& in, const Shape& output_size, const std::vector<double>& scales, const char* op) {
  const size_t spatial = in.size();
  PE_CHECK(output_size.empty() != scales.empty(), ValueError, op,
           ": exactly one of output_size and scale_factors must be given, got output_size ", shape_str(output_size),
           " and ", scales.size(), " scale factors");
  Shape out(spatial);
  if (!output_size.empty()) {
    PE_CHECK(output_size.size() == spatial, ValueError, op, ": output_size must have ", spatial,
             " entries (one per spatial dim), got ", shape_str(output_size));
    out = output_size;
  } else {
    PE_CHECK(scales.size() == spatial, ValueError, op, ": scale_factors must have ", spatial,
             " entries (one per spatial dim), got ", scales.size());
    for (size_t d = 0; d < spatial; ++d) {
      const double s = scales[d], size = static_cast<double>(in[d]) * s;
      PE_CHECK(std::isfinite(s), RuntimeError, op, ": scale_factor must be finite, got ", s);
      PE_CHECK(size > -9.2e18 && size < 9.2e18, RuntimeError, op, ": the output size ", in[d], " * scale_factor ",
               s, " does not fit in int64");
      out[d] = static_cast<int64_t>(size);  // truncation, as PyTorch; a negative size is refused below
    }
  }
  bool positive = true;
  for (size_t d = 0; d < spatial; ++d) positive = positive && in[d] > 0 && out[d] > 0;
  PE_CHECK(positive, RuntimeError, op, ": input and output sizes should be greater than 0, but got input ",
           shape_str(in), " and output ", shape_str(out));
  return out;
}

// The two axes (a trivial H axis for 1-D inputs), built only when there is work to do.
void make_axes(UpsampleArgs& a, const Shape& in, const Shape& out, bool linear, bool align_corners,
               const std::vector<double>& scales, bool adjoint) {
  const size_t spatial = in.size();
  auto axis = [&](size_t d) {
    const bool has = !scales.empty();
    return make_axis(in[d], out[d], linear, align_corners, has, has ? scales[d] : 0.0, a.dtype, adjoint);
  };
  a.h = spatial == 2 ? axis(0) : trivial_axis(adjoint);
  a.w = axis(spatial - 1);
}

Shape spatial_of(const Shape& s) { return Shape(s.begin() + 2, s.end()); }

}  // namespace

Tensor upsample(const Tensor& x, const std::string& mode, const Shape& output_size, const std::vector<double>& scales,
                bool align_corners) {
  const char* op = "upsample";
  const bool linear = is_linear(mode, op);
  check_spatial(x.ndim(), op);
  PE_CHECK(is_floating(x.dtype()), TypeError, op, ": expected a floating input (float32 or float64), got ",
           dtype_name(x.dtype()));
  const Shape in = spatial_of(x.shape());
  const Shape out_sp = output_spatial(in, output_size, scales, op);
  Shape out_shape{x.shape()[0], x.shape()[1]};
  out_shape.insert(out_shape.end(), out_sp.begin(), out_sp.end());
  checked_numel(out_shape, op);
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());  // before the tables: a huge size fails here
  if (y.numel() == 0) return y;
  UpsampleArgs a;
  a.dtype = x.dtype();
  a.batch = x.shape()[0], a.channels = x.shape()[1];
  make_axes(a, in, out_sp, linear, align_corners, scales, false);
  const Shape& st = x.strides();
  a.x_strides[0] = st[0], a.x_strides[1] = st[1];
  a.x_strides[2] = x.ndim() == 4 ? st[2] : 0;
  a.x_strides[3] = st[x.ndim() - 1];
  a.in = x.raw_data();
  a.out = y.raw_data();
  upsample_forward_kernel(x.device(), a);
  return y;
}

Tensor upsample_backward(const Tensor& grad, const Shape& input_shape, const std::string& mode,
                         const Shape& output_size, const std::vector<double>& scales, bool align_corners) {
  const char* op = "upsample_backward";
  const bool linear = is_linear(mode, op);
  check_spatial(static_cast<int64_t>(input_shape.size()), op);
  PE_CHECK(is_floating(grad.dtype()), TypeError, op, ": expected a floating gradient (float32 or float64), got ",
           dtype_name(grad.dtype()));
  for (int64_t s : input_shape) PE_CHECK(s >= 0, ValueError, op, ": input_shape ", shape_str(input_shape), " has a negative size");
  const Shape in = spatial_of(input_shape);
  PE_CHECK(scales.empty() || scales.size() == in.size(), ValueError, op, ": scale_factors must be empty or have ",
           in.size(), " entries, got ", scales.size());
  const Shape out_sp = output_spatial(in, output_size, {}, op);  // the forward's output size, as given
  Shape out_shape{input_shape[0], input_shape[1]};
  out_shape.insert(out_shape.end(), out_sp.begin(), out_sp.end());
  PE_CHECK(grad.shape() == out_shape, ValueError, op, ": gradient shape ", shape_str(grad.shape()),
           " does not match the output shape ", shape_str(out_shape));
  Tensor gx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  if (gx.numel() == 0) return gx;
  const Tensor g = contiguous(grad);
  UpsampleArgs a;
  a.dtype = grad.dtype();
  a.batch = input_shape[0], a.channels = input_shape[1];
  make_axes(a, in, out_sp, linear, align_corners, scales, true);
  a.in = g.raw_data();
  a.out = gx.raw_data();
  upsample_backward_kernel(grad.device(), a);
  return gx;
}

}  // namespace pe::ops

#include "ops/pool.h"

#include <algorithm>
#include <limits>
#include <string>

#include "core/checked.h"
#include "ops/copy.h"

namespace pe::ops {

namespace {

// One call's input as the kernels see it: (N, C, H, W), where 1-D pooling has H = 1 and an
// unbatched input has N = 1. `spatial` (1 or 2) and `batched` rebuild the user's shapes.
struct Geometry {
  const char* name;
  int spatial;
  bool batched;
  int64_t n, c, h, w;
  Shape shape;  // the user's input shape, for messages
};

// (h, w) the way the user wrote it: "(w,)" for 1-D pooling, "(h, w)" for 2-D.
std::string tup(const Geometry& g, int64_t h, int64_t w) {
  return g.spatial == 1 ? shape_str({w}) : shape_str({h, w});
}

// Which dims of the input PyTorch requires non-empty (each family checks its own):
// Window (max/avg pooling): all but a batched input's N ("optional 0 dim batch size");
// AdaptiveMax: all but the first dim; AdaptiveAvg: the spatial dims only (and not even those
// when every output size is 1: PyTorch then takes the mean, NaN over nothing);
// Backward: none (the forward has checked).
enum class NonEmpty { Window, AdaptiveMax, AdaptiveAvg, Backward };

void check_non_empty(const Geometry& g, NonEmpty rule) {
  const Shape& s = g.shape;
  const size_t nd = s.size();
  switch (rule) {
    case NonEmpty::Window:
      for (size_t i = g.batched ? 1 : 0; i < nd; ++i)
        PE_CHECK(s[i] > 0, RuntimeError, g.name, ": expected ", g.spatial + 1, "-D or ", g.spatial + 2,
                 "-D (batch mode) input with optional 0 dim batch size, but got input shape ", shape_str(s));
      return;
    case NonEmpty::AdaptiveMax:
    case NonEmpty::AdaptiveAvg:
      for (size_t i = rule == NonEmpty::AdaptiveMax ? 1 : nd - g.spatial; i < nd; ++i)
        PE_CHECK(s[i] > 0, RuntimeError, g.name,
                 ": expected input to have non-zero size for non-batch dimensions, but input has shape ",
                 shape_str(s), " with dimension ", i, " being empty");
      return;
    case NonEmpty::Backward:
      return;
  }
}

Geometry geometry(const Shape& shape, int spatial, const char* name, NonEmpty rule) {
  Geometry g{name, spatial, false, 1, 1, 1, 1, shape};
  const int64_t nd = static_cast<int64_t>(shape.size());
  const char* want = spatial == 2 ? "a 3-D (C, H, W) or 4-D (N, C, H, W)" : "a 2-D (C, L) or 3-D (N, C, L)";
  PE_CHECK(nd == spatial + 1 || nd == spatial + 2, RuntimeError, name, ": expected ", want,
           " input, got shape ", shape_str(shape));
  for (int64_t v : shape)
    PE_CHECK(v >= 0, RuntimeError, name, ": negative dimension in shape ", shape_str(shape));
  g.batched = nd == spatial + 2;
  int64_t d = 0;
  if (g.batched) g.n = shape[d++];
  g.c = shape[d++];
  if (spatial == 2) g.h = shape[d++];
  g.w = shape[d];
  check_non_empty(g, rule);
  return g;
}

Shape output_shape(const Geometry& g, int64_t oh, int64_t ow) {
  Shape s;
  if (g.batched) s.push_back(g.n);
  s.push_back(g.c);
  if (g.spatial == 2) s.push_back(oh);
  s.push_back(ow);
  return s;
}

void check_input(const Tensor& x, const char* name, bool allow_int) {
  PE_CHECK(is_floating(x.dtype()) || (allow_int && x.dtype() == DType::Int64), TypeError, name,
           ": expected a floating", allow_int ? " or int64" : "", " input (float32",
           allow_int ? ", float64 or int64" : " or float64", "), got ", dtype_name(x.dtype()));
}

// PyTorch's output length: floor (or ceil) of (in + 2p - extent) / s + 1, where with ceil_mode
// the last window must still start inside the input or the left padding. Below 1: no output.
// Overflowing arguments are a RuntimeError naming them (core/checked.h).
int64_t pooled_size(const char* name, int64_t in, int64_t k, int64_t s, int64_t p, int64_t d, bool ceil) {
  WindowAxis a;
  a.in = in, a.kernel = k, a.stride = s, a.pad_lo = a.pad_hi = p, a.dilation = d;
  return window_output_size(name, a, ceil);
}

// ---------------------------------------------------------------- window arguments
struct Window {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  bool ceil = false;
  int64_t oh = 1, ow = 1;  // the output size
};

// A window argument as (h, w): 2-D takes 1 int (both) or 2; 1-D takes exactly 1 (h is `h1d`).
std::pair<int64_t, int64_t> pair_arg(const Geometry& g, const Shape& v, const char* what, int64_t h1d) {
  const size_t n = v.size();
  if (g.spatial == 1) {
    PE_CHECK(n == 1, RuntimeError, g.name, ": ", what, " must be a single int, got ", shape_str(v));
    return {h1d, v[0]};
  }
  PE_CHECK(n == 1 || n == 2, RuntimeError, g.name, ": ", what,
           " must either be a single int, or a tuple of two ints, got ", shape_str(v));
  return {v[0], v[n - 1]};
}

Window parse_window(const Geometry& g, const Shape& kernel, const Shape& stride, const Shape& padding,
                    const Shape& dilation, bool ceil) {
  Window w;
  std::tie(w.kh, w.kw) = pair_arg(g, kernel, "kernel_size", 1);
  std::tie(w.sh, w.sw) = stride.empty() ? std::make_pair(w.kh, w.kw) : pair_arg(g, stride, "stride", 1);
  std::tie(w.ph, w.pw) = pair_arg(g, padding, "padding", 0);
  std::tie(w.dh, w.dw) = pair_arg(g, dilation, "dilation", 1);
  w.ceil = ceil;
  PE_CHECK(w.kh > 0 && w.kw > 0, RuntimeError, g.name, ": kernel_size must be greater than zero, got ",
           tup(g, w.kh, w.kw));
  PE_CHECK(w.sh > 0 && w.sw > 0, RuntimeError, g.name, ": stride must be greater than zero, got ",
           tup(g, w.sh, w.sw));
  PE_CHECK(w.dh > 0 && w.dw > 0, RuntimeError, g.name, ": dilation must be greater than zero, got ",
           tup(g, w.dh, w.dw));
  PE_CHECK(w.ph >= 0 && w.pw >= 0, RuntimeError, g.name, ": padding must be non-negative, got ",
           tup(g, w.ph, w.pw));
  // PyTorch's rule (it checks against the kernel size, not the dilated extent).
  PE_CHECK(w.ph <= w.kh / 2 && w.pw <= w.kw / 2, RuntimeError, g.name,
           ": pad should be at most half of kernel size, got padding ", tup(g, w.ph, w.pw), " for kernel size ",
           tup(g, w.kh, w.kw));
  const int64_t oh = pooled_size(g.name, g.h, w.kh, w.sh, w.ph, w.dh, ceil);
  const int64_t ow = pooled_size(g.name, g.w, w.kw, w.sw, w.pw, w.dw, ceil);
  if (oh < 1 || ow < 1) {  // pooled_size checked these sums and products
    const int64_t eh = w.dh * (w.kh - 1) + 1, ew = w.dw * (w.kw - 1) + 1;
    const bool dilated = w.dh != 1 || w.dw != 1;
    throw RuntimeError(str(g.name, ": ", dilated ? "effective kernel size " : "kernel size ", tup(g, eh, ew),
                           dilated ? str(" (kernel size ", tup(g, w.kh, w.kw), ", dilation ", tup(g, w.dh, w.dw),
                                         ")")
                                   : std::string(),
                           " is larger than the padded input ", tup(g, g.h + 2 * w.ph, g.w + 2 * w.pw),
                           " of input shape ", shape_str(g.shape), ", so the output size would be ", tup(g, oh, ow)));
  }
  w.oh = oh, w.ow = ow;
  return w;
}

// a >= 0, b > 0; (a + b - 1) / b would wrap for a stride or dilation near 2**63.
int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

// Window o starts at o * s - p; its taps t < k sit at start + t * d. Keep the ones inside [0, in).
// `out` is pooled_size(...) of these arguments (checked by parse_window).
PoolAxis fixed_axis(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d, bool include_pad) {
  PoolAxis a;
  a.in = in;
  a.out = out;
  a.dilation = d;
  a.kernel = k, a.stride = s, a.pad = p;
  a.first.resize(a.out), a.count.resize(a.out), a.extent.resize(a.out);
  for (int64_t o = 0; o < a.out; ++o) {
    const int64_t start = o * s - p;
    const int64_t t_lo = start < 0 ? ceil_div(-start, d) : 0;
    const int64_t t_hi = start < in ? std::min(k, ceil_div(in - start, d)) : 0;
    a.first[o] = start + t_lo * d;
    a.count[o] = std::max<int64_t>(0, t_hi - t_lo);
    // Average pooling's divisor: with count_include_pad, the window clipped to the padded input.
    a.extent[o] = include_pad ? std::min(start + k, in + p) - start : a.count[o];
  }
  // Interior: start >= 0 and the last tap start + (k - 1) d <= in - 1.
  const int64_t last = in - 1 - (k - 1) * d + p;  // o * s <= last
  a.full_lo = std::min(ceil_div(p, s), a.out);
  a.full_hi = last < 0 ? a.full_lo : std::max(a.full_lo, std::min(last / s + 1, a.out));
  return a;
}

// PyTorch's adaptive windows: [floor(o * in / out), ceil((o + 1) * in / out)).
PoolAxis adaptive_axis(const char* name, int64_t in, int64_t out) {
  if (out > 0) checked_mul(out, in, str(name, ": output_size * input size").c_str());  // bounds (o + 1) * in
  PoolAxis a;
  a.in = in, a.out = out;
  a.first.resize(out), a.count.resize(out), a.extent.resize(out);
  for (int64_t o = 0; o < out; ++o) {
    const int64_t start = o * in / out, end = ceil_div((o + 1) * in, out);
    a.first[o] = start;
    a.count[o] = a.extent[o] = end - start;
  }
  if (out > 0 && in % out == 0) {  // equal windows side by side: the regular interior path
    a.kernel = a.stride = in / out;
    a.full_lo = 0, a.full_hi = out;
  }
  return a;
}

std::pair<int64_t, int64_t> parse_output_size(const Geometry& g, const Shape& size) {
  std::pair<int64_t, int64_t> hw;
  if (g.spatial == 1) {
    PE_CHECK(size.size() == 1, RuntimeError, g.name, ": output_size must be a single int, got ", shape_str(size));
    hw = {1, size[0]};
  } else {
    PE_CHECK(size.size() == 1 || size.size() == 2, RuntimeError, g.name,
             ": output_size must be a single int or a tuple of two ints, got ", shape_str(size));
    hw = {size[0], size.back()};
  }
  PE_CHECK(hw.first >= 0 && hw.second >= 0, RuntimeError, g.name,
           ": output_size must be non-negative, got ", tup(g, hw.first, hw.second));
  return hw;
}

// The kernels' view of the input: (N, C, H, W) strides (a missing N or H gets stride 0).
void set_input(PoolArgs& a, const Geometry& g, const Tensor& x) {
  a.dtype = x.dtype();
  a.batch = g.n, a.channels = g.c;
  a.x = x.raw_data();
  const Shape& st = x.strides();
  int64_t d = 0;
  a.x_strides[0] = g.batched ? st[d++] : 0;
  a.x_strides[1] = st[d++];
  a.x_strides[2] = g.spatial == 2 ? st[d++] : 0;
  a.x_strides[3] = st[d];
}

// A pooling's windows before their tables: the output size and how to tabulate each axis. The
// tables (three int64 per output position) are built only once the output is allocated and
// non-empty, so a huge output size fails on its allocation (MemoryError naming the shape), and
// an empty one (batch 0) needs none.
struct Plan {
  bool adaptive = false;
  Window w;  // fixed windows (dilation 1 for average pooling)
  bool include_pad = false;
  int64_t divisor_override = 0;
  int64_t oh = 1, ow = 1;
};

PoolArgs tabulate(const Geometry& g, const Plan& p) {
  PoolArgs a;
  if (p.adaptive) {
    a.h = adaptive_axis(g.name, g.h, p.oh);
    a.w = adaptive_axis(g.name, g.w, p.ow);
  } else {
    const Window& w = p.w;
    a.h = fixed_axis(g.h, p.oh, w.kh, w.sh, w.ph, w.dh, p.include_pad);
    a.w = fixed_axis(g.w, p.ow, w.kw, w.sw, w.pw, w.dw, p.include_pad);
  }
  a.divisor_override = p.divisor_override;
  return a;
}

Plan fixed_plan(const Geometry& g, const Shape& kernel, const Shape& stride, const Shape& padding,
                const Shape& dilation, bool ceil) {
  Plan p;
  p.w = parse_window(g, kernel, stride, padding, dilation, ceil);
  p.oh = p.w.oh, p.ow = p.w.ow;
  return p;
}

Plan adaptive_plan(const Geometry& g, const Shape& size) {
  Plan p;
  p.adaptive = true;
  std::tie(p.oh, p.ow) = parse_output_size(g, size);
  return p;
}

std::pair<Tensor, Tensor> run_max(const Plan& p, const Geometry& g, const Tensor& x, bool return_indices) {
  const Shape shape = output_shape(g, p.oh, p.ow);
  Tensor y = Tensor::empty(shape, x.dtype(), x.device());
  Tensor idx = return_indices ? Tensor::empty(shape, DType::Int64, x.device()) : Tensor();
  if (y.numel() == 0) return {y, idx};
  PoolArgs a = tabulate(g, p);
  set_input(a, g, x);
  a.y = y.raw_data();
  a.indices = return_indices ? idx.data<int64_t>() : nullptr;
  max_pool_forward_kernel(x.device(), a);
  return {y, idx};
}

Tensor run_avg(const Plan& p, const Geometry& g, const Tensor& x) {
  Tensor y = Tensor::empty(output_shape(g, p.oh, p.ow), x.dtype(), x.device());
  if (y.numel() == 0) return y;
  PoolArgs a = tabulate(g, p);
  set_input(a, g, x);
  a.y = y.raw_data();
  avg_pool_forward_kernel(x.device(), a);
  return y;
}

std::pair<Tensor, Tensor> max_pool(const Tensor& x, int spatial, const char* name, const Shape& kernel,
                                   const Shape& stride, const Shape& padding, const Shape& dilation, bool ceil,
                                   bool return_indices) {
  check_input(x, name, true);
  const Geometry g = geometry(x.shape(), spatial, name, NonEmpty::Window);
  return run_max(fixed_plan(g, kernel, stride, padding, dilation, ceil), g, x, return_indices);
}

std::pair<Tensor, Tensor> adaptive_max_pool(const Tensor& x, int spatial, const char* name, const Shape& size,
                                            bool return_indices) {
  check_input(x, name, true);
  const Geometry g = geometry(x.shape(), spatial, name, NonEmpty::AdaptiveMax);
  return run_max(adaptive_plan(g, size), g, x, return_indices);
}

// PyTorch takes an adaptive average to size 1 as the mean over the spatial dims before any
// check, so an empty plane gives NaN there (and is refused for any other size).
Tensor adaptive_avg(const Tensor& x, int spatial, const char* name, const Shape& output_size) {
  const Shape& s = x.shape();
  const bool to_one = std::all_of(output_size.begin(), output_size.end(), [](int64_t v) { return v == 1; });
  const bool empty_plane = s.size() >= static_cast<size_t>(spatial) &&
                           std::any_of(s.end() - std::min<size_t>(spatial, s.size()), s.end(), [](int64_t v) { return v == 0; });
  const Geometry g = geometry(s, spatial, name, to_one && empty_plane ? NonEmpty::Backward : NonEmpty::AdaptiveAvg);
  const Plan p = adaptive_plan(g, output_size);
  if (g.h > 0 && g.w > 0) return run_avg(p, g, x);
  Tensor y = Tensor::empty(output_shape(g, p.oh, p.ow), x.dtype(), x.device());
  if (y.numel() > 0) fill_(y, Scalar(std::numeric_limits<double>::quiet_NaN()));
  return y;
}

// The average-pooling geometry shared by forward and backward.
Plan avg_plan(const Geometry& g, const Shape& kernel, const Shape& stride, const Shape& padding, bool ceil,
              bool count_include_pad, std::optional<int64_t> divisor_override) {
  Plan p = fixed_plan(g, kernel, stride, padding, Shape{1}, ceil);
  PE_CHECK(!divisor_override || *divisor_override != 0, RuntimeError, g.name, ": divisor_override must not be zero");
  p.include_pad = count_include_pad;
  p.divisor_override = divisor_override.value_or(0);
  return p;
}

// ---------------------------------------------------------------- backward
void check_grad(const Tensor& grad, const char* name) {
  PE_CHECK(is_floating(grad.dtype()), TypeError, name, ": expected a floating gradient (float32 or float64), got ",
           dtype_name(grad.dtype()));
}

// dL/dx for the windows of `p` (built from the forward's arguments).
Tensor run_avg_backward(const Plan& p, const Geometry& g, const Tensor& grad) {
  const Shape out_shape = output_shape(g, p.oh, p.ow);
  PE_CHECK(grad.shape() == out_shape, ValueError, g.name, ": gradient shape ", shape_str(grad.shape()),
           " does not match the output shape ", shape_str(out_shape), " of input shape ", shape_str(g.shape));
  Tensor gx = Tensor::empty(g.shape, grad.dtype(), grad.device());
  if (gx.numel() == 0) return gx;
  PoolArgs a = tabulate(g, p);
  a.dtype = grad.dtype();
  a.batch = g.n, a.channels = g.c;
  const Tensor gy = contiguous(grad);
  avg_pool_backward_kernel(grad.device(), a, gx.raw_data(), gy.raw_data());
  return gx;
}

Tensor max_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape, int spatial,
                    const char* name) {
  check_grad(grad, name);
  PE_CHECK(indices.dtype() == DType::Int64, TypeError, name, ": expected int64 indices, got ",
           dtype_name(indices.dtype()));
  check_same_device(name, grad, "gradient", indices, "indices");
  PE_CHECK(grad.shape() == indices.shape(), ValueError, name, ": gradient shape ", shape_str(grad.shape()),
           " does not match indices shape ", shape_str(indices.shape()));
  const Geometry g = geometry(input_shape, spatial, name, NonEmpty::Backward);
  const Shape& gs = grad.shape();
  const int64_t nd = static_cast<int64_t>(input_shape.size());
  PE_CHECK(grad.ndim() == nd && std::equal(gs.begin(), gs.end() - spatial, input_shape.begin()), ValueError,
           name, ": gradient shape ", shape_str(gs), " does not match input shape ", shape_str(input_shape),
           " outside the pooled dims");
  PoolArgs a;
  a.dtype = grad.dtype();
  a.batch = g.n, a.channels = g.c;
  a.h.in = g.h, a.w.in = g.w;
  a.h.out = spatial == 2 ? gs[nd - 2] : 1, a.w.out = gs[nd - 1];
  Tensor gx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  if (gx.numel() == 0) return gx;
  const Tensor gy = contiguous(grad), idx = contiguous(indices);
  const bool ok = max_pool_backward_kernel(grad.device(), a, gx.raw_data(), gy.raw_data(), idx.data<int64_t>());
  PE_CHECK(ok, IndexError, name, ": an index is out of range for input planes of ", g.h * g.w,  // gx was allocated
           " elements (input shape ", shape_str(input_shape), ")");
  return gx;
}

}  // namespace

// ---------------------------------------------------------------- public entry points
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                                     const Shape& padding, const Shape& dilation, bool ceil_mode,
                                     bool return_indices) {
  return max_pool(x, 2, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode, return_indices);
}

std::pair<Tensor, Tensor> max_pool1d(const Tensor& x, const Shape& kernel_size, const Shape& stride,
                                     const Shape& padding, const Shape& dilation, bool ceil_mode,
                                     bool return_indices) {
  return max_pool(x, 1, "max_pool1d", kernel_size, stride, padding, dilation, ceil_mode, return_indices);
}

std::pair<Tensor, Tensor> adaptive_max_pool2d(const Tensor& x, const Shape& output_size, bool return_indices) {
  return adaptive_max_pool(x, 2, "adaptive_max_pool2d", output_size, return_indices);
}

std::pair<Tensor, Tensor> adaptive_max_pool1d(const Tensor& x, const Shape& output_size, bool return_indices) {
  return adaptive_max_pool(x, 1, "adaptive_max_pool1d", output_size, return_indices);
}

Tensor avg_pool2d(const Tensor& x, const Shape& kernel_size, const Shape& stride, const Shape& padding,
                  bool ceil_mode, bool count_include_pad, std::optional<int64_t> divisor_override) {
  check_input(x, "avg_pool2d", false);
  const Geometry g = geometry(x.shape(), 2, "avg_pool2d", NonEmpty::Window);
  return run_avg(avg_plan(g, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override), g, x);
}

Tensor avg_pool1d(const Tensor& x, const Shape& kernel_size, const Shape& stride, const Shape& padding,
                  bool ceil_mode, bool count_include_pad) {
  check_input(x, "avg_pool1d", false);
  const Geometry g = geometry(x.shape(), 1, "avg_pool1d", NonEmpty::Window);
  return run_avg(avg_plan(g, kernel_size, stride, padding, ceil_mode, count_include_pad, std::nullopt), g, x);
}

Tensor adaptive_avg_pool2d(const Tensor& x, const Shape& output_size) {
  check_input(x, "adaptive_avg_pool2d", false);
  return adaptive_avg(x, 2, "adaptive_avg_pool2d", output_size);
}

Tensor adaptive_avg_pool1d(const Tensor& x, const Shape& output_size) {
  check_input(x, "adaptive_avg_pool1d", false);
  return adaptive_avg(x, 1, "adaptive_avg_pool1d", output_size);
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape) {
  return max_backward(grad, indices, input_shape, 2, "max_pool2d_backward");
}

Tensor max_pool1d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape) {
  return max_backward(grad, indices, input_shape, 1, "max_pool1d_backward");
}

Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, const Shape& kernel_size,
                           const Shape& stride, const Shape& padding, bool ceil_mode, bool count_include_pad,
                           std::optional<int64_t> divisor_override) {
  check_grad(grad, "avg_pool2d_backward");
  const Geometry g = geometry(input_shape, 2, "avg_pool2d_backward", NonEmpty::Backward);
  return run_avg_backward(avg_plan(g, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override),
                          g, grad);
}

Tensor avg_pool1d_backward(const Tensor& grad, const Shape& input_shape, const Shape& kernel_size,
                           const Shape& stride, const Shape& padding, bool ceil_mode, bool count_include_pad) {
  check_grad(grad, "avg_pool1d_backward");
  const Geometry g = geometry(input_shape, 1, "avg_pool1d_backward", NonEmpty::Backward);
  return run_avg_backward(avg_plan(g, kernel_size, stride, padding, ceil_mode, count_include_pad, std::nullopt), g,
                          grad);
}

Tensor adaptive_avg_pool2d_backward(const Tensor& grad, const Shape& input_shape) {
  check_grad(grad, "adaptive_avg_pool2d_backward");
  const Geometry g = geometry(input_shape, 2, "adaptive_avg_pool2d_backward", NonEmpty::Backward);
  const int64_t nd = grad.ndim();
  PE_CHECK(nd == static_cast<int64_t>(input_shape.size()), ValueError,
           "adaptive_avg_pool2d_backward: gradient shape ", shape_str(grad.shape()), " does not match input shape ",
           shape_str(input_shape));
  return run_avg_backward(adaptive_plan(g, {grad.shape()[nd - 2], grad.shape()[nd - 1]}), g, grad);
}

Tensor adaptive_avg_pool1d_backward(const Tensor& grad, const Shape& input_shape) {
  check_grad(grad, "adaptive_avg_pool1d_backward");
  const Geometry g = geometry(input_shape, 1, "adaptive_avg_pool1d_backward", NonEmpty::Backward);
  const int64_t nd = grad.ndim();
  PE_CHECK(nd == static_cast<int64_t>(input_shape.size()), ValueError,
           "adaptive_avg_pool1d_backward: gradient shape ", shape_str(grad.shape()), " does not match input shape ",
           shape_str(input_shape));
  return run_avg_backward(adaptive_plan(g, {grad.shape()[nd - 1]}), g, grad);
}

}  // namespace pe::ops

#include "core/checked.h"

#include <iomanip>
#include <limits>
#include <sstream>

namespace pe {

namespace detail {
void throw_overflow(const char* what, const char* op, int64_t a, int64_t b) {
  throw RuntimeError(str(what, ": ", a, " ", op, " ", b, " overflows int64"));
}
}  // namespace detail

int64_t checked_numel(const std::vector<int64_t>& shape, const char* op) {
  // The non-zero sizes must multiply within int64 even when another size is 0: every product
  // derived from a shape (strides, merged loop dims, reduction counts) then fits, empty or not.
  // (PyTorch refuses such empty shapes too, when its running product overflows.)
  int64_t n = 1;
  bool empty = false;
  for (int64_t s : shape) {
    if (s == 0) {
      empty = true;
      continue;
    }
    if (__builtin_mul_overflow(n, s, &n))
      throw RuntimeError(str(op, *op ? ": " : "", "shape ", shape_str(shape),
                             " has more elements than int64 can count (numel overflows)"));
  }
  return empty ? 0 : n;
}

int64_t checked_nbytes(const std::vector<int64_t>& shape, DType dtype, const char* op) {
  for (int64_t s : shape)
    if (s == 0) return checked_numel(shape, op);  // 0, once its other sizes are known to fit
  int64_t n = static_cast<int64_t>(itemsize(dtype));
  long double wanted = static_cast<long double>(n);  // the byte count, for the message
  bool overflow = false;
  for (int64_t s : shape) {
    wanted *= static_cast<long double>(s);
    overflow = overflow || __builtin_mul_overflow(n, s, &n);
  }
  if (overflow) {
    std::ostringstream bytes;
    bytes << std::setprecision(4) << wanted;
    throw ValueError(str(op, *op ? ": a result" : "a tensor", " of shape ", shape_str(shape),
                         " is too large to allocate (", dtype_name(dtype), ": ", bytes.str(), " bytes, more than the ",
                         std::numeric_limits<int64_t>::max(), " that can be addressed)"));
  }
  return n;
}

ViewExtent view_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t offset,
                       const char* op) {
  ViewExtent e;
  for (int64_t s : shape)
    if (s == 0) return e;
  e.empty = false;
  e.lo = e.hi = offset;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t step;  // (size - 1) * stride: the distance between the first and last element
    bool bad = __builtin_mul_overflow(shape[i] - 1, strides[i], &step);
    bad = bad || (step >= 0 ? __builtin_add_overflow(e.hi, step, &e.hi) : __builtin_add_overflow(e.lo, step, &e.lo));
    if (bad)
      throw RuntimeError(str(op, ": a view of shape ", shape_str(shape), " with strides ", shape_str(strides),
                             " at storage offset ", offset, " reaches beyond int64 element offsets (dimension ", i,
                             ": size ", shape[i], ", stride ", strides[i], ")"));
  }
  return e;
}

int64_t window_extent(const char* op, int64_t kernel, int64_t dilation) {
  int64_t span;
  if (__builtin_mul_overflow(dilation, kernel - 1, &span) || __builtin_add_overflow(span, 1, &span))
    throw RuntimeError(str(op, ": dilation=", dilation, " with kernel_size=", kernel,
                           " overflows int64 in the window extent dilation * (kernel_size - 1) + 1"));
  return span;
}

int64_t padded_length(const char* op, int64_t in, int64_t pad_lo, int64_t pad_hi) {
  int64_t p;
  if (__builtin_add_overflow(in, pad_lo, &p) || __builtin_add_overflow(p, pad_hi, &p))
    throw RuntimeError(str(op, ": padding=(", pad_lo, ", ", pad_hi, ") on an input of size ", in,
                           " overflows int64 in the padded size"));
  return p;
}

namespace {
int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }  // b != 0
}  // namespace

int64_t window_output_size(const char* op, const WindowAxis& a, bool ceil_mode) {
  const int64_t padded = padded_length(op, a.in, a.pad_lo, a.pad_hi);
  const int64_t extent = window_extent(op, a.kernel, a.dilation);
  int64_t span;  // stride > 0, and padded >= 0 and extent >= 1 once the caller checked its arguments
  if (__builtin_sub_overflow(padded, extent, &span))
    throw RuntimeError(str(op, ": window extent ", extent, " against padded input size ", padded, " overflows int64"));
  if (ceil_mode && __builtin_add_overflow(span, a.stride - 1, &span))
    throw RuntimeError(str(op, ": stride=", a.stride, " with ceil_mode=True overflows int64 in the output size"));
  int64_t out = floor_div(span, a.stride) + 1;
  // With ceil_mode the last window must start inside the input or the left padding.
  if (ceil_mode && out > 1 && (out - 1) * a.stride >= a.in + a.pad_lo) --out;
  return out;
}

int64_t conv_transpose_output_size(const char* op, int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                                   int64_t dilation, int64_t output_padding) {
  int64_t out;
  bool bad = __builtin_mul_overflow(in - 1, stride, &out);
  int64_t two_pad;
  bad = bad || __builtin_mul_overflow(pad, 2, &two_pad) || __builtin_sub_overflow(out, two_pad, &out);
  if (bad)
    throw RuntimeError(str(op, ": stride=", stride, " and padding=", pad, " on an input of size ", in,
                           " overflow int64 in the output size (input - 1) * stride - 2 * padding"));
  const int64_t extent = window_extent(op, kernel, dilation);
  if (__builtin_add_overflow(out, extent, &out) || __builtin_add_overflow(out, output_padding, &out))
    throw RuntimeError(str(op, ": dilation=", dilation, " with kernel_size=", kernel, " and output_padding=",
                           output_padding, " overflow int64 in the output size"));
  return out;
}

}  // namespace pe

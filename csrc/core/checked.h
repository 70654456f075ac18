// Checked int64 arithmetic for every size, stride, offset and output-size computation.
//
// Sizes reach the engine from Python as arbitrary int64 values (2**62 paddings, 2**61 dilations,
// expanded views with stride 0), so a plain `a * b` may wrap: the checks after it pass and the
// kernels run off their buffers. Every such computation goes through these helpers instead; what
// overflows is a RuntimeError (PyTorch's type for overflowing sizes) that names the operation,
// the argument and the values. Allocation sizes are checked by checked_nbytes (ValueError, as
// NumPy raises for an array whose byte count overflows).
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"

namespace pe {

namespace detail {
[[noreturn]] void throw_overflow(const char* what, const char* op, int64_t a, int64_t b);
}

// a + b, a - b, a * b; `what` names the quantity in the error, e.g. "conv2d: padded input height".
inline int64_t checked_add(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) detail::throw_overflow(what, "+", a, b);
  return r;
}
inline int64_t checked_sub(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) detail::throw_overflow(what, "-", a, b);
  return r;
}
inline int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) detail::throw_overflow(what, "*", a, b);
  return r;
}

// The number of elements of `shape` (0 when any size is 0, whatever the others are);
// RuntimeError naming `op` and the shape when the product overflows int64. Negative sizes are
// the caller's to reject (they are never multiplied in: the result is then meaningless).
int64_t checked_numel(const std::vector<int64_t>& shape, const char* op);

// Bytes of a contiguous `shape` of `dtype`; ValueError "<op>: a result of shape (...) is too large
// to allocate" naming the dtype and the byte count when it does not fit in int64. `op` may be
// empty ("a tensor of shape ...").
int64_t checked_nbytes(const std::vector<int64_t>& shape, DType dtype, const char* op);

// The lowest and highest element offsets a view (shape, strides, offset) touches; `empty` when
// it has no element (lo/hi are then unset). Strides may be negative. RuntimeError naming `op`,
// the shape, strides and offset when an offset overflows int64.
struct ViewExtent {
  bool empty = true;
  int64_t lo = 0, hi = 0;
};
ViewExtent view_extent(const std::vector<int64_t>& shape, const std::vector<int64_t>& strides, int64_t offset,
                       const char* op);

// ---------------------------------------------------------------- sliding windows
// One axis of a convolution or pooling: window o starts at o * stride - pad_lo, its taps sit
// `dilation` apart.
struct WindowAxis {
  int64_t in = 0, kernel = 1, stride = 1, pad_lo = 0, pad_hi = 0, dilation = 1;
};

// dilation * (kernel - 1) + 1: the span of one window; RuntimeError naming both arguments when
// it overflows.
int64_t window_extent(const char* op, int64_t kernel, int64_t dilation);
// in + pad_lo + pad_hi; RuntimeError naming the padding when it overflows.
int64_t padded_length(const char* op, int64_t in, int64_t pad_lo, int64_t pad_hi);

// PyTorch's output length of a window op (conv, pool): floor((padded - extent) / stride) + 1, or
// with ceil_mode the ceiling, dropping a last window that would start in the right padding.
// May be < 1 (the window does not fit): the caller reports that in its own words. Every
// intermediate is checked.
int64_t window_output_size(const char* op, const WindowAxis& a, bool ceil_mode = false);

// A transposed convolution's output length:
// (in - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1 (may be < 1).
int64_t conv_transpose_output_size(const char* op, int64_t in, int64_t kernel, int64_t stride, int64_t pad,
                                   int64_t dilation, int64_t output_padding);

}  // namespace pe

// Softmax and log-softmax along one dim, forward and backward, numerically stable:
//   softmax(x)_i     = exp(x_i - m) / s,        m = max_j x_j, s = sum_j exp(x_j - m)
//   log_softmax(x)_i = (x_i - m) - log(s)
// Subtracting the row max keeps every exponent <= 0, so huge logits never overflow.
// Backward (y = the forward output, g = dL/dy):
//   softmax:     dx_i = y_i * (g_i - sum_j g_j y_j)
//   log_softmax: dx_i = g_i - exp(y_i) * sum_j g_j
// Rows are independent, so threads split the rows and results never depend on the count.
#include <algorithm>
#include <cmath>
#include <limits>

#include "core/parallel.h"
#include "cpu/softmax.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

// Element offset of row r (row-major over the kept dims) for one operand's strides.
inline int64_t row_offset(int64_t r, const Shape& shape, const Shape& strides) {
  int64_t off = 0;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0 && r > 0; --d) {
    off += (r % shape[d]) * strides[d];
    r /= shape[d];
  }
  return off;
}

// Accumulate sums in double for float32 rows: a 1e6-long row keeps full float accuracy.
template <class T> using acc_t = double;

// One row, any strides. `S` is the stride type: the fast path instantiates it with a
// compile-time 1 so the loops are unit-stride and vectorize.
template <class T, class S>
void forward_row(const T* x, S sx, T* y, S sy, int64_t n, bool log) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i * sx];
    m = (v > m || std::isnan(v)) ? v : m;  // a NaN anywhere makes the whole row NaN
  }
  // An all -inf row has m = -inf: x - m is NaN, like PyTorch.
  acc_t<T> s = 0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) s += std::exp(x[i * sx] - m);
    // (x - m) - log(s), not x - (m + log(s)): m + log(s) would round at the logits' scale.
    const T log_s = static_cast<T>(std::log(s));
    for (int64_t i = 0; i < n; ++i) y[i * sy] = (x[i * sx] - m) - log_s;
  } else {
    for (int64_t i = 0; i < n; ++i) {
      const T e = std::exp(x[i * sx] - m);
      y[i * sy] = e;
      s += e;
    }
    const T inv = static_cast<T>(1.0 / s);
    for (int64_t i = 0; i < n; ++i) y[i * sy] *= inv;
  }
}

template <class T, class S>
void backward_row(const T* y, S sy, const T* g, S sg, T* dx, S sd, int64_t n, bool log) {
  acc_t<T> dot = 0;
  if (log) {
    for (int64_t i = 0; i < n; ++i) dot += g[i * sg];
    const T s = static_cast<T>(dot);
    for (int64_t i = 0; i < n; ++i) dx[i * sd] = g[i * sg] - std::exp(y[i * sy]) * s;
  } else {
    for (int64_t i = 0; i < n; ++i) dot += static_cast<acc_t<T>>(g[i * sg]) * y[i * sy];
    const T s = static_cast<T>(dot);
    for (int64_t i = 0; i < n; ++i) dx[i * sd] = y[i * sy] * (g[i * sg] - s);
  }
}

struct Unit {  // a stride known to be 1 at compile time
  constexpr operator int64_t() const { return 1; }
};

template <class T>
void run_forward(const SoftmaxArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  const bool unit = a.in.stride == 1 && a.out_stride == 1;
  parallel_for(rows, a.n * 8, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* x = static_cast<const T*>(a.in.data) + row_offset(r, a.row_shape, a.in.row_strides);
      T* y = static_cast<T*>(a.out) + row_offset(r, a.row_shape, a.out_row_strides);
      if (unit)
        forward_row(x, Unit{}, y, Unit{}, a.n, a.log);
      else
        forward_row(x, a.in.stride, y, a.out_stride, a.n, a.log);
    }
  });
}

template <class T>
void run_backward(const SoftmaxArgs& a) {
  const int64_t rows = shape_numel(a.row_shape);
  const bool unit = a.in.stride == 1 && a.grad.stride == 1 && a.out_stride == 1;
  parallel_for(rows, a.n * 6, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* y = static_cast<const T*>(a.in.data) + row_offset(r, a.row_shape, a.in.row_strides);
      const T* g = static_cast<const T*>(a.grad.data) + row_offset(r, a.row_shape, a.grad.row_strides);
      T* dx = static_cast<T*>(a.out) + row_offset(r, a.row_shape, a.out_row_strides);
      if (unit)
        backward_row(y, Unit{}, g, Unit{}, dx, Unit{}, a.n, a.log);
      else
        backward_row(y, a.in.stride, g, a.grad.stride, dx, a.out_stride, a.n, a.log);
    }
  });
}

}  // namespace

void softmax_forward(const SoftmaxArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "softmax", [&] { run_forward<scalar_t>(a); });
}

void softmax_backward(const SoftmaxArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "softmax_backward", [&] { run_backward<scalar_t>(a); });
}

}  // namespace pe::cpu::PE_ISA_NS

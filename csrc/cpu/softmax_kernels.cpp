// Softmax and log-softmax along one dim, forward and backward, numerically stable:
//   softmax(x)_i     = exp(x_i - m) / s,        m = max_j x_j, s = sum_j exp(x_j - m)
//   log_softmax(x)_i = (x_i - m) - log(s)
// Subtracting the row max keeps every exponent <= 0, so huge logits never overflow.
// Backward (y = the forward output, g = dL/dy):
//   softmax:     dx_i = y_i * (g_i - sum_j g_j y_j)
//   log_softmax: dx_i = g_i - exp(y_i) * sum_j g_j
//
// Two loop orders, chosen per call:
//  - row path: one row at a time along the dim (unit-stride fast path when the dim is the
//    innermost; the same code with run-time strides otherwise);
//  - column path: when the dim is NOT innermost but the innermost kept dim is unit-stride
//    (e.g. dim=1 of an (N, C, H, W) tensor), a block of neighbouring rows is processed
//    together, so every load is a contiguous run across the block and the loops vectorize.
// Rows are independent, so threads split rows (or blocks): results never depend on the count.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/parallel.h"
#include "cpu/fast_math.h"  // fast_exp: exp the compiler vectorises
#include "cpu/row_offset.h"
#include "ops/softmax.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::SoftmaxArgs;

using cpu::row_offset;

// Sums accumulate in double: a 1e6-long float32 row keeps full float accuracy.
using acc_t = double;

template <class T>
inline T max_nan(T m, T v) {
  return (v > m || v != v) ? v : m;  // a NaN anywhere makes the whole row NaN
}

// ---------------------------------------------------------------- row path
struct Unit {  // a stride known to be 1 at compile time, so the loops are unit-stride
  constexpr operator int64_t() const { return 1; }
};

template <class T, class S>
void forward_row(const T* x, S sx, T* y, S sy, int64_t n, bool log) {
  T m = -std::numeric_limits<T>::infinity();
  int nan = 0;  // tracked apart from the max so the loop is a plain (vectorizable) max reduction
#pragma omp simd reduction(max : m) reduction(| : nan)
  for (int64_t i = 0; i < n; ++i) {
    const T v = x[i * sx];
    m = v > m ? v : m;
    nan |= v != v;
  }
  if (nan) m = std::numeric_limits<T>::quiet_NaN();  // a NaN anywhere makes the whole row NaN
  // An all -inf row has m = -inf: x - m is NaN, like PyTorch.
  acc_t s = 0;
  if (log) {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) s += fast_exp(x[i * sx] - m);
    // (x - m) - log(s), not x - (m + log(s)): m + log(s) would round at the logits' scale.
    const T log_s = static_cast<T>(std::log(s));
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i * sy] = (x[i * sx] - m) - log_s;
  } else {
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < n; ++i) {
      const T e = fast_exp(x[i * sx] - m);
      y[i * sy] = e;
      s += e;
    }
    const T inv = static_cast<T>(1.0 / s);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i * sy] *= inv;
  }
}

template <class T, class S>
void backward_row(const T* y, S sy, const T* g, S sg, T* dx, S sd, int64_t n, bool log) {
  acc_t dot = 0;
  if (log) {
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < n; ++i) dot += g[i * sg];
    const T s = static_cast<T>(dot);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dx[i * sd] = g[i * sg] - fast_exp(y[i * sy]) * s;
  } else {
#pragma omp simd reduction(+ : dot)
    for (int64_t i = 0; i < n; ++i) dot += static_cast<acc_t>(g[i * sg]) * y[i * sy];
    const T s = static_cast<T>(dot);
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) dx[i * sd] = y[i * sy] * (g[i * sg] - s);
  }
}

template <class T>
void forward_rows(const SoftmaxArgs& a) {
  const bool unit = a.in.stride == 1 && a.out_stride == 1;
  parallel_for(shape_numel(a.row_shape), a.n * 8, [&](int64_t begin, int64_t end) {
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
void backward_rows(const SoftmaxArgs& a) {
  const bool unit = a.in.stride == 1 && a.grad.stride == 1 && a.out_stride == 1;
  parallel_for(shape_numel(a.row_shape), a.n * 6, [&](int64_t begin, int64_t end) {
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

// ---------------------------------------------------------------- column path
constexpr int64_t kBlock = 64;  // neighbouring rows per block: 64 accumulators fit in L1

// `w` rows starting at x (row j at x + j), each n long with stride sx along the dim.
template <class T>
void forward_block(const T* x, int64_t sx, T* y, int64_t sy, int64_t n, int64_t w, bool log) {
  T m[kBlock];
  acc_t s[kBlock];
  for (int64_t j = 0; j < w; ++j) {
    m[j] = -std::numeric_limits<T>::infinity();
    s[j] = 0;
  }
  for (int64_t i = 0; i < n; ++i)
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) m[j] = max_nan(m[j], x[i * sx + j]);
  for (int64_t i = 0; i < n; ++i) {
#pragma omp simd
    for (int64_t j = 0; j < w; ++j) {
      const T e = fast_exp(x[i * sx + j] - m[j]);
      if (!log) y[i * sy + j] = e;
      s[j] += e;
    }
  }
  T post[kBlock];  // log: log(s); softmax: 1/s
  for (int64_t j = 0; j < w; ++j) post[j] = static_cast<T>(log ? std::log(s[j]) : 1.0 / s[j]);
  for (int64_t i = 0; i < n; ++i) {
    if (log) {
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) y[i * sy + j] = (x[i * sx + j] - m[j]) - post[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) y[i * sy + j] *= post[j];
    }
  }
}

template <class T>
void backward_block(const T* y, int64_t sy, const T* g, int64_t sg, T* dx, int64_t sd, int64_t n, int64_t w,
                    bool log) {
  acc_t dot[kBlock];
  for (int64_t j = 0; j < w; ++j) dot[j] = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (log) {
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) dot[j] += g[i * sg + j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) dot[j] += static_cast<acc_t>(g[i * sg + j]) * y[i * sy + j];
    }
  }
  T s[kBlock];
  for (int64_t j = 0; j < w; ++j) s[j] = static_cast<T>(dot[j]);
  for (int64_t i = 0; i < n; ++i) {
    if (log) {
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) dx[i * sd + j] = g[i * sg + j] - fast_exp(y[i * sy + j]) * s[j];
    } else {
#pragma omp simd
      for (int64_t j = 0; j < w; ++j) dx[i * sd + j] = y[i * sy + j] * (g[i * sg + j] - s[j]);
    }
  }
}

// Blocks of kBlock rows along the innermost kept dim (whose stride is 1 for every operand).
struct Blocks {
  int64_t inner, per_outer, count;
  explicit Blocks(const Shape& row_shape)
      : inner(row_shape.back()), per_outer((inner + kBlock - 1) / kBlock),
        count(shape_numel(row_shape) / std::max<int64_t>(inner, 1) * per_outer) {}
  // First row of block b and its width.
  int64_t first_row(int64_t b) const { return (b / per_outer) * inner + (b % per_outer) * kBlock; }
  int64_t width(int64_t b) const { return std::min(kBlock, inner - (b % per_outer) * kBlock); }
};

template <class T>
void forward_columns(const SoftmaxArgs& a) {
  const Blocks blk(a.row_shape);
  parallel_for(blk.count, a.n * kBlock * 8, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t r = blk.first_row(b);
      forward_block(static_cast<const T*>(a.in.data) + row_offset(r, a.row_shape, a.in.row_strides), a.in.stride,
                    static_cast<T*>(a.out) + row_offset(r, a.row_shape, a.out_row_strides), a.out_stride, a.n,
                    blk.width(b), a.log);
    }
  });
}

template <class T>
void backward_columns(const SoftmaxArgs& a) {
  const Blocks blk(a.row_shape);
  parallel_for(blk.count, a.n * kBlock * 6, [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const int64_t r = blk.first_row(b);
      backward_block(static_cast<const T*>(a.in.data) + row_offset(r, a.row_shape, a.in.row_strides), a.in.stride,
                     static_cast<const T*>(a.grad.data) + row_offset(r, a.row_shape, a.grad.row_strides),
                     a.grad.stride, static_cast<T*>(a.out) + row_offset(r, a.row_shape, a.out_row_strides),
                     a.out_stride, a.n, blk.width(b), a.log);
    }
  });
}

// The column path pays off when the dim is not innermost and the innermost kept dim is
// unit-stride (and longer than 1) in every operand.
bool use_columns(const SoftmaxArgs& a, bool backward) {
  if (a.row_shape.empty() || a.row_shape.back() < 2 || a.in.stride == 1) return false;
  if (a.in.row_strides.back() != 1 || a.out_row_strides.back() != 1) return false;
  return !backward || a.grad.row_strides.back() == 1;
}

void softmax_forward(const SoftmaxArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "softmax", [&] {
    use_columns(a, false) ? forward_columns<scalar_t>(a) : forward_rows<scalar_t>(a);
  });
}

void softmax_backward(const SoftmaxArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "softmax_backward", [&] {
    use_columns(a, true) ? backward_columns<scalar_t>(a) : backward_rows<scalar_t>(a);
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::softmax_forward_kernel, softmax_forward);
PE_REGISTER_CPU_KERNEL(ops::softmax_backward_kernel, softmax_backward);

}  // namespace pe::cpu::PE_ISA_NS

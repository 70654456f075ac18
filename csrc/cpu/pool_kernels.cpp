// Max and average pooling over the windows the op layer tabulated (see ops/pool.h).
//
// Forward works one output row at a time: the row of outputs is the accumulator, and each input
// row the windows touch is folded into it in turn (taps in PyTorch's order: window row, then
// window column). Outputs whose window is regular and fully inside the input - the interior -
// run a loop over output columns that the compiler vectorizes; kernel width and stride are
// compile-time constants for the common shapes (see with_window_shape). The few border
// outputs walk their tap tables.
//
// Max follows PyTorch's rule: a tap replaces the best so far when it is larger or NaN (so NaN
// propagates, and the first of equal values keeps the index). Average sums in the input dtype
// in the same tap order and divides by the window's divisor (global pooling: one sum per plane).
//
// Backward scatters into a zeroed plane: max adds dL/dy at the saved argmax, average spreads
// dL/dy / divisor over the window's taps. Planes are independent, so threads split planes.
#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <type_traits>

#include "core/parallel.h"
#include "cpu/gemm_direct.h"  // Vec / sum_lanes: the ISA's vector registers
#include "cpu/reduce_policies.h"  // lowest, is_nan (same ISA namespace)
#include "ops/pool.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::PoolArgs;
using ops::PoolAxis;

struct Unit {  // a column stride known to be 1 at compile time
  constexpr operator int64_t() const { return 1; }
};

// PyTorch's max rule: a later tap takes over when it is larger or NaN. Bitwise | (not ||) keeps
// the scalar code branch-free: on real data the comparison is a coin flip a branch would mispredict.
template <class T>
inline bool takes_over(T v, T best) {
  return (v > best) | is_nan(v);
}

// Walks the input planes p0, p0 + 1, ... of (N, C) without a division per plane (that costs as
// much as summing a small plane).
template <class T>
struct PlaneWalk {
  const T* base;
  int64_t sn, sc, channels, n, c;
  PlaneWalk(const PoolArgs& a, int64_t p0)
      : base(static_cast<const T*>(a.x)), sn(a.x_strides[0]), sc(a.x_strides[1]), channels(a.channels),
        n(p0 / a.channels), c(p0 % a.channels) {}
  const T* get() const { return base + n * sn + c * sc; }
  void next() {
    if (++c == channels) c = 0, ++n;
  }
};

// The compile-time kernel width / stride of an interior loop, or the run-time value (0).
struct Shape2 {
  int64_t kw, sw, dw, shift;  // shift = -pad: input column of output 0's first tap
};

// ---------------------------------------------------------------- folding rows into outputs
// How one tap v (at input position pos of its plane) updates an output's running state.
struct MaxFold {
  template <bool kIdx, class T>
  static void tap(T& best, int64_t& bi, T v, int64_t pos) {
    const bool take = takes_over(v, best);
    best = take ? v : best;
    if constexpr (kIdx) bi = take ? pos : bi;
  }
};
struct SumFold {
  template <bool kIdx, class T>
  static void tap(T& acc, int64_t&, T v, int64_t) {
    acc += v;
  }
};

// Outputs start .. start + n - 1 of the interior (n = N when N > 0): fold their taps in `row`
// into the states read from y_in / i_in, written to y_out / i_out. With N fixed the compiler
// turns the output loop into whole vector operations.
template <int N, int KW, int SW, bool kIdx, class Fold, class T, class S>
inline void fold_block(const T* row, S sx, int64_t row_base, Shape2 g, int64_t start, int64_t n_rt, const T* y_in,
                       const int64_t* i_in, T* y_out, int64_t* i_out) {
  const int64_t n = N ? N : n_rt;
  const int64_t kw = KW ? KW : g.kw, sw = SW ? SW : g.sw, dw = (KW && SW) ? 1 : g.dw;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t c0 = (start + j) * sw + g.shift;
    T best = y_in[j];
    int64_t bi = kIdx ? i_in[j] : 0;
    for (int64_t t = 0; t < kw; ++t) Fold::template tap<kIdx>(best, bi, row[(c0 + t * dw) * sx], row_base + c0 + t * dw);
    y_out[j] = best;
    if constexpr (kIdx) i_out[j] = bi;
  }
}

// The interior outputs [lo, hi) in blocks of one vector register's worth of outputs. Rows are
// often narrow (28, 14, 7 outputs), so the remainder is not left to a scalar loop: the last
// block is computed from the states as they were (before the main blocks) into a temporary,
// ending at hi, and only its outputs that no main block covered are stored.
template <int KW, int SW, bool kIdx, class Fold, class T, class S>
void fold_interior(const T* row, S sx, int64_t row_base, T* y, int64_t* idx, int64_t lo, int64_t hi, Shape2 g) {
  constexpr int B = 64 / sizeof(T);
  const int64_t n = hi - lo;
  if (n <= 0) return;
  int64_t* no_idx = nullptr;
  auto ip = [&](int64_t o) { return kIdx ? idx + o : no_idx; };
  if (n < B) {
    fold_block<0, KW, SW, kIdx, Fold>(row, sx, row_base, g, lo, n, y + lo, ip(lo), y + lo, ip(lo));
    return;
  }
  const int64_t main_end = lo + n / B * B, tail = hi - B;
  T tail_y[B];
  int64_t tail_i[kIdx ? B : 1];
  if (main_end < hi)
    fold_block<B, KW, SW, kIdx, Fold>(row, sx, row_base, g, tail, B, y + tail, ip(tail), tail_y, tail_i);
  for (int64_t o = lo; o < main_end; o += B)
    fold_block<B, KW, SW, kIdx, Fold>(row, sx, row_base, g, o, B, y + o, ip(o), y + o, ip(o));
  for (int64_t o = main_end; o < hi; ++o) {
    y[o] = tail_y[o - tail];
    if constexpr (kIdx) idx[o] = tail_i[o - tail];
  }
}

// One input row (row ih of its plane) into one output row: the border outputs walk their tap
// tables, the interior goes through fold_interior.
template <int KW, int SW, bool kIdx, class Fold, class T, class S>
void fold_row(const T* row, S sx, int64_t ih, const PoolAxis& w, T* y, int64_t* idx) {
  const int64_t row_base = ih * w.in;
  auto border = [&](int64_t ow) {
    T best = y[ow];
    int64_t bi = kIdx ? idx[ow] : 0;
    for (int64_t t = 0; t < w.count[ow]; ++t) {
      const int64_t iw = w.first[ow] + t * w.dilation;
      Fold::template tap<kIdx>(best, bi, row[iw * sx], row_base + iw);
    }
    y[ow] = best;
    if constexpr (kIdx) idx[ow] = bi;
  };
  for (int64_t ow = 0; ow < w.full_lo; ++ow) border(ow);
  fold_interior<KW, SW, kIdx, Fold>(row, sx, row_base, y, idx, w.full_lo, w.full_hi,
                                    Shape2{w.kernel, w.stride, w.dilation, -w.pad});
  for (int64_t ow = w.full_hi; ow < w.out; ++ow) border(ow);
}

// ---------------------------------------------------------------- max forward
template <int KW, int SW, bool kIdx, class T, class S>
void max_planes(const PoolArgs& a, S sx, int64_t p0, int64_t p1) {
  const PoolAxis &h = a.h, &w = a.w;
  const int64_t plane_out = h.out * w.out;
  PlaneWalk<T> planes(a, p0);
  for (int64_t p = p0; p < p1; ++p, planes.next()) {
    const T* xp = planes.get();
    T* yp = static_cast<T*>(a.y) + p * plane_out;
    int64_t* ip = kIdx ? a.indices + p * plane_out : nullptr;
    for (int64_t oh = 0; oh < h.out; ++oh) {
      T* y = yp + oh * w.out;
      int64_t* idx = kIdx ? ip + oh * w.out : nullptr;
      const int64_t ih0 = h.first[oh], ch = h.count[oh];
      for (int64_t ow = 0; ow < w.out; ++ow) {
        y[ow] = lowest<T>();
        // The first tap is the answer until a larger (or NaN) one comes; no tap at all: -1.
        if constexpr (kIdx) idx[ow] = (ch > 0 && w.count[ow] > 0) ? ih0 * w.in + w.first[ow] : -1;
      }
      for (int64_t t = 0; t < ch; ++t) {
        const int64_t ih = ih0 + t * h.dilation;
        fold_row<KW, SW, kIdx, MaxFold>(xp + ih * a.x_strides[2], sx, ih, w, y, idx);
      }
    }
  }
}

// Pick the compile-time window shape once per call: run(KW, SW, column stride) with KW, SW as
// std::integral_constant for the common unit-stride shapes (2x2 / 3x3 / 4x4 windows, stride 1
// or 2), and 0, 0 (the run-time loop) otherwise.
template <class Run>
void with_window_shape(const PoolAxis& w, int64_t sx, Run&& run) {
  using std::integral_constant;
  if (sx != 1 || w.dilation != 1) return run(integral_constant<int, 0>{}, integral_constant<int, 0>{}, sx);
  const int64_t k = w.kernel, s = w.stride;
  if (k == 2 && s == 2) return run(integral_constant<int, 2>{}, integral_constant<int, 2>{}, Unit{});
  if (k == 3 && s == 2) return run(integral_constant<int, 3>{}, integral_constant<int, 2>{}, Unit{});
  if (k == 3 && s == 1) return run(integral_constant<int, 3>{}, integral_constant<int, 1>{}, Unit{});
  if (k == 2 && s == 1) return run(integral_constant<int, 2>{}, integral_constant<int, 1>{}, Unit{});
  if (k == 4 && s == 2) return run(integral_constant<int, 4>{}, integral_constant<int, 2>{}, Unit{});
  run(integral_constant<int, 0>{}, integral_constant<int, 0>{}, Unit{});
}

template <bool kIdx, class T>
void max_dispatch(const PoolArgs& a, int64_t p0, int64_t p1) {
  with_window_shape(a.w, a.x_strides[3], [&](auto kw, auto sw, auto sx) {
    max_planes<decltype(kw)::value, decltype(sw)::value, kIdx, T>(a, sx, p0, p1);
  });
}

// ---------------------------------------------------------------- average forward
// Window divisors as a separable product: h factor per output row, w factor per column (or the
// override for all). Kept as T so the divide loops vectorize. A window with no tap sums to 0;
// its factor 1 keeps 0 / divisor at 0 (PyTorch outputs 0 there) rather than 0 / 0.
template <class T>
struct Divisors {
  const PoolArgs& a;
  std::vector<T> w;
  explicit Divisors(const PoolArgs& args) : a(args), w(args.w.out) {
    for (int64_t ow = 0; ow < a.w.out; ++ow) w[ow] = a.w.count[ow] > 0 ? T(a.w.extent[ow]) : T(1);
  }
  T at(int64_t oh, int64_t ow) const {
    return a.divisor_override ? T(a.divisor_override) : (a.h.count[oh] > 0 ? T(a.h.extent[oh]) : T(1)) * w[ow];
  }
  // dst[ow] = src[ow] / divisor(oh, ow) along output row oh.
  void divide_row(int64_t oh, const T* src, T* dst) const {
    const int64_t n = a.w.out;
    if (a.divisor_override) {
      const T d = T(a.divisor_override);
      for (int64_t ow = 0; ow < n; ++ow) dst[ow] = src[ow] / d;
      return;
    }
    const T dh = a.h.count[oh] > 0 ? T(a.h.extent[oh]) : T(1);
    const T* dw = w.data();
    for (int64_t ow = 0; ow < n; ++ow) dst[ow] = src[ow] / (dh * dw[ow]);
  }
};

template <int KW, int SW, class T, class S>
void avg_planes(const PoolArgs& a, S sx, int64_t p0, int64_t p1) {
  const PoolAxis &h = a.h, &w = a.w;
  const int64_t plane_out = h.out * w.out;
  const Divisors<T> div(a);
  PlaneWalk<T> planes(a, p0);
  for (int64_t p = p0; p < p1; ++p, planes.next()) {
    const T* xp = planes.get();
    T* yp = static_cast<T*>(a.y) + p * plane_out;
    for (int64_t oh = 0; oh < h.out; ++oh) {
      T* y = yp + oh * w.out;
      std::fill(y, y + w.out, T(0));
      for (int64_t t = 0; t < h.count[oh]; ++t)
        fold_row<KW, SW, false, SumFold>(xp + (h.first[oh] + t * h.dilation) * a.x_strides[2], sx, 0, w, y,
                                         static_cast<int64_t*>(nullptr));
      div.divide_row(oh, y, y);
    }
  }
}

// Sum of n elements p[i * stride] in T, over one vector register's worth of independent lanes
// (float addition is never reassociated by the compiler, so the lanes make the loop vectorize;
// this is PyTorch's accumulation type too).
template <class T, class S>
T lane_sum(const T* p, S stride, int64_t n) {
  constexpr int kLanes = 64 / sizeof(T);
  int64_t i = 0;
  T total = 0;
  if (n >= 4 * kLanes) {  // long: a vector of partial sums
    T lane[kLanes] = {};
    for (; i + kLanes <= n; i += kLanes)
      for (int k = 0; k < kLanes; ++k) lane[k] += p[(i + k) * stride];
    for (int k = 0; k < kLanes; ++k) total += lane[k];
  }
  // Short (a 7x7 plane) or the tail: four scalar chains; the vector set-up and the final
  // reduction of the lanes would cost more than they save.
  T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += p[i * stride];
    s1 += p[(i + 1) * stride];
    s2 += p[(i + 2) * stride];
    s3 += p[(i + 3) * stride];
  }
  for (; i < n; ++i) s0 += p[i * stride];
  return total + ((s0 + s1) + (s2 + s3));
}

// Sum of n contiguous elements: lane_sum, except for short runs (a 7x7 plane) of at least a
// vector, which take whole vectors and one halving sum of the lanes: a few vector instructions
// instead of one scalar add per element.
template <class T>
T plane_sum(const T* p, int64_t n) {
  using V = gemm_detail::Vec<T>;
  constexpr int W = V::W;
  if (n < W || n >= 4 * (64 / static_cast<int64_t>(sizeof(T)))) return lane_sum(p, Unit{}, n);
  typename V::type acc = V::load(p);
  int64_t i = W;
  for (; i + W <= n; i += W) acc += V::load(p + i);
  T s = gemm_detail::sum_lanes<T>(acc);
  for (; i < n; ++i) s += p[i];
  return s;
}

// One window per plane covering all of it (global average pooling): one lane-parallel sum per
// plane (per row when the rows are not adjacent in memory).
template <class T>
void global_avg_planes(const PoolArgs& a, int64_t p0, int64_t p1) {
  const int64_t H = a.h.in, W = a.w.in, sh = a.x_strides[2], sw = a.x_strides[3];
  const T d = Divisors<T>(a).at(0, 0);
  T* y = static_cast<T*>(a.y);
  PlaneWalk<T> planes(a, p0);
  for (int64_t p = p0; p < p1; ++p, planes.next()) {
    const T* xp = planes.get();
    T s = 0;
    if (sw == 1 && sh == W) {
      s = plane_sum(xp, H * W);
    } else {
      for (int64_t ih = 0; ih < H; ++ih) s += sw == 1 ? lane_sum(xp + ih * sh, Unit{}, W) : lane_sum(xp + ih * sh, sw, W);
    }
    y[p] = s / d;
  }
}

// One window per plane that covers all of it.
bool is_global(const PoolArgs& a) {
  return a.h.out == 1 && a.w.out == 1 && a.h.count[0] == a.h.in && a.w.count[0] == a.w.in && a.h.dilation == 1 &&
         a.w.dilation == 1;
}

template <class T>
void avg_dispatch(const PoolArgs& a, int64_t p0, int64_t p1) {
  if (is_global(a)) return global_avg_planes<T>(a, p0, p1);
  with_window_shape(a.w, a.x_strides[3], [&](auto kw, auto sw, auto sx) {
    avg_planes<decltype(kw)::value, decltype(sw)::value, T>(a, sx, p0, p1);
  });
}

// ---------------------------------------------------------------- average backward
// dL/dx row += the (already divided) dL/dy row spread over each window's columns.
template <int KW, int SW, class T>
void spread_row(const T* g, const PoolAxis& w, T* gx) {
  auto border = [&](int64_t ow) {
    for (int64_t t = 0; t < w.count[ow]; ++t) gx[w.first[ow] + t * w.dilation] += g[ow];
  };
  for (int64_t ow = 0; ow < w.full_lo; ++ow) border(ow);
  const int64_t kw = KW ? KW : w.kernel, sw = SW ? SW : w.stride;
  for (int64_t ow = w.full_lo; ow < w.full_hi; ++ow) {
    T* dst = gx + ow * sw - w.pad;
    for (int64_t j = 0; j < kw; ++j) dst[j] += g[ow];
  }
  for (int64_t ow = w.full_hi; ow < w.out; ++ow) border(ow);
}

// Global pooling's backward: every element of the plane gets dL/dy / divisor.
template <class T>
void global_avg_backward_planes(const PoolArgs& a, T* gx, const T* gy, int64_t p0, int64_t p1) {
  const int64_t plane_in = a.h.in * a.w.in;
  const T d = Divisors<T>(a).at(0, 0);
  for (int64_t p = p0; p < p1; ++p) {
    std::fill(gx + p * plane_in, gx + (p + 1) * plane_in, gy[p] / d);
  }
}

template <int KW, int SW, class T>
void avg_backward_planes(const PoolArgs& a, T* gx, const T* gy, int64_t p0, int64_t p1) {
  const PoolAxis &h = a.h, &w = a.w;
  const int64_t plane_in = h.in * w.in, plane_out = h.out * w.out;
  const Divisors<T> div(a);
  std::vector<T> g(w.out);
  for (int64_t p = p0; p < p1; ++p) {
    T* gxp = gx + p * plane_in;
    std::fill(gxp, gxp + plane_in, T(0));
    for (int64_t oh = 0; oh < h.out; ++oh) {
      div.divide_row(oh, gy + p * plane_out + oh * w.out, g.data());
      for (int64_t t = 0; t < h.count[oh]; ++t)
        spread_row<KW, SW>(g.data(), w, gxp + (h.first[oh] + t * h.dilation) * w.in);
    }
  }
}

void max_pool2d_forward(const PoolArgs& a) {
  const int64_t planes = a.batch * a.channels;
  const int64_t cost = a.h.in * a.w.in + a.h.out * a.w.out * std::max<int64_t>(a.h.kernel * a.w.kernel, 1);
  PE_DISPATCH_NUMERIC(a.dtype, "max_pool2d", [&] {
    parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
      if (a.indices)
        max_dispatch<true, scalar_t>(a, p0, p1);
      else
        max_dispatch<false, scalar_t>(a, p0, p1);
    });
  });
}

bool max_pool2d_backward(const PoolArgs& a, void* gx_, const void* gy_, const int64_t* indices) {
  const int64_t planes = a.batch * a.channels;
  const int64_t plane_in = a.h.in * a.w.in, plane_out = a.h.out * a.w.out;
  std::atomic<bool> ok{true};
  PE_DISPATCH_FLOATING(a.dtype, "max_pool2d_backward", [&] {
    auto* gx = static_cast<scalar_t*>(gx_);
    const auto* gy = static_cast<const scalar_t*>(gy_);
    parallel_for(planes, plane_in + plane_out, [&](int64_t p0, int64_t p1) {
      bool good = true;
      for (int64_t p = p0; p < p1; ++p) {
        scalar_t* gxp = gx + p * plane_in;
        std::fill(gxp, gxp + plane_in, scalar_t(0));
        const scalar_t* gyp = gy + p * plane_out;
        const int64_t* ip = indices + p * plane_out;
        for (int64_t o = 0; o < plane_out; ++o) {
          const int64_t i = ip[o];
          if (i >= 0 && i < plane_in)
            gxp[i] += gyp[o];
          else if (i != -1)  // -1: a window with no input element gets no gradient
            good = false;
        }
      }
      if (!good) ok.store(false, std::memory_order_relaxed);
    });
  });
  return ok.load();
}

void avg_pool2d_forward(const PoolArgs& a) {
  const int64_t planes = a.batch * a.channels;
  const int64_t cost = a.h.in * a.w.in + a.h.out * a.w.out;
  PE_DISPATCH_FLOATING(a.dtype, "avg_pool2d", [&] {
    parallel_for(planes, cost, [&](int64_t p0, int64_t p1) { avg_dispatch<scalar_t>(a, p0, p1); });
  });
}

void avg_pool2d_backward(const PoolArgs& a, void* gx_, const void* gy_) {
  const int64_t planes = a.batch * a.channels;
  const int64_t cost = a.h.in * a.w.in + a.h.out * a.w.out;
  PE_DISPATCH_FLOATING(a.dtype, "avg_pool2d_backward", [&] {
    auto* gx = static_cast<scalar_t*>(gx_);
    const auto* gy = static_cast<const scalar_t*>(gy_);
    const PoolAxis& w = a.w;
    parallel_for(planes, cost, [&](int64_t p0, int64_t p1) {
      if (is_global(a))
        global_avg_backward_planes(a, gx, gy, p0, p1);
      else if (w.dilation == 1 && w.kernel == 2 && w.stride == 2)
        avg_backward_planes<2, 2>(a, gx, gy, p0, p1);
      else if (w.dilation == 1 && w.kernel == 3 && w.stride == 2)
        avg_backward_planes<3, 2>(a, gx, gy, p0, p1);
      else
        avg_backward_planes<0, 0>(a, gx, gy, p0, p1);
    });
  });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::max_pool_forward_kernel, max_pool2d_forward);
PE_REGISTER_CPU_KERNEL(ops::max_pool_backward_kernel, max_pool2d_backward);
PE_REGISTER_CPU_KERNEL(ops::avg_pool_forward_kernel, avg_pool2d_forward);
PE_REGISTER_CPU_KERNEL(ops::avg_pool_backward_kernel, avg_pool2d_backward);

}  // namespace pe::cpu::PE_ISA_NS

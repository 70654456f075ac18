// Nearest / (bi)linear upsampling on the CPU, forward and backward, over the per-axis tables the
// op layer built (ops/upsample.h: UpsampleAxis / UpsampleArgs and the kernel contract).
//
// Forward: one output row (plane, oh) at a time. The row's one or two source rows and their H
// weights are fixed, so the inner loop along W is a gather through the W table - unit-stride
// writes, one or two indexed loads per tap, vectorised (gathers) when the input's W stride is 1.
// Backward is the adjoint as a gather: each input row sums, for each output row that reads it,
// its W-adjoint (each input column's (output, weight) list) scaled by the H weight - no
// scattered writes, so no races and a result independent of the thread count.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "ops/upsample.h"

namespace pe::cpu::PE_ISA_NS {
namespace {

using ops::UpsampleArgs;

template <class T>
std::vector<T> as(const std::vector<double>& v) {
  return std::vector<T>(v.begin(), v.end());  // exact: the weights were computed in T
}

struct Unit {  // a W stride known to be 1 at compile time, so the gathers vectorise
  constexpr operator int64_t() const { return 1; }
};

// One output row: y[ow] = wh0 * row(r0) + wh1 * row(r1), row(r) = ww0 * r[i0] + ww1 * r[i1].
template <class T, bool Nearest, bool TwoH, bool TwoW, class S>
void forward_row(T* __restrict y, const T* r0, const T* r1, T wh0, T wh1, const int64_t* __restrict i0,
                 const int64_t* __restrict i1, const T* __restrict ww0, const T* __restrict ww1, int64_t ow_n, S sw) {
#pragma omp simd
  for (int64_t ow = 0; ow < ow_n; ++ow) {
    if constexpr (Nearest) {
      y[ow] = r0[i0[ow] * sw];
    } else {
      const int64_t a = i0[ow] * sw;
      T v0, v1 = T(0);
      if constexpr (TwoW) {
        const int64_t b = i1[ow] * sw;
        v0 = ww0[ow] * r0[a] + ww1[ow] * r0[b];
        if constexpr (TwoH) v1 = ww0[ow] * r1[a] + ww1[ow] * r1[b];
      } else {
        v0 = ww0[ow] * r0[a];
        if constexpr (TwoH) v1 = ww0[ow] * r1[a];
      }
      if constexpr (TwoH)
        y[ow] = wh0 * v0 + wh1 * v1;
      else
        y[ow] = wh0 * v0;
    }
  }
}

template <class T, bool Nearest, bool TwoH, bool TwoW>
void forward_t(const UpsampleArgs& a) {
  const int64_t OH = a.h.out, OW = a.w.out, planes = a.batch * a.channels;
  const std::vector<T> ww0 = as<T>(a.w.w0), ww1 = as<T>(a.w.w1);
  const T* x = static_cast<const T*>(a.in);
  T* out = static_cast<T*>(a.out);
  const int64_t sh = a.x_strides[2], sw = a.x_strides[3];
  parallel_for(planes * OH, OW * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t p = r / OH, oh = r % OH;
      const T* xp = x + (p / a.channels) * a.x_strides[0] + (p % a.channels) * a.x_strides[1];
      const T* r0 = xp + a.h.i0[oh] * sh;
      const T* r1 = xp + a.h.i1[oh] * sh;
      const T wh0 = static_cast<T>(a.h.w0[oh]), wh1 = static_cast<T>(a.h.w1[oh]);
      if (sw == 1)
        forward_row<T, Nearest, TwoH, TwoW>(out + r * OW, r0, r1, wh0, wh1, a.w.i0.data(), a.w.i1.data(),
                                            ww0.data(), ww1.data(), OW, Unit{});
      else
        forward_row<T, Nearest, TwoH, TwoW>(out + r * OW, r0, r1, wh0, wh1, a.w.i0.data(), a.w.i1.data(),
                                            ww0.data(), ww1.data(), OW, sw);
    }
  });
}

template <class T>
void backward_t(const UpsampleArgs& a) {
  const int64_t H = a.h.in, W = a.w.in, OH = a.h.out, OW = a.w.out, planes = a.batch * a.channels;
  const std::vector<T> hw = as<T>(a.h.weight), ww = as<T>(a.w.weight);
  const int64_t* ws = a.w.start.data();
  const int64_t* wsrc = a.w.src.data();
  const T* g = static_cast<const T*>(a.in);
  T* out = static_cast<T*>(a.out);
  parallel_for(planes * H, (OW * OH / std::max<int64_t>(H, 1) + W) * 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int64_t p = r / H, h = r % H;
      T* dx = out + r * W;
      std::fill(dx, dx + W, T(0));
      for (int64_t k = a.h.start[h]; k < a.h.start[h + 1]; ++k) {
        const T* gr = g + (p * OH + a.h.src[k]) * OW;
        const T wh = hw[k];
        for (int64_t w = 0; w < W; ++w) {
          T s = T(0);
          for (int64_t j = ws[w]; j < ws[w + 1]; ++j) s += ww[j] * gr[wsrc[j]];
          dx[w] += wh * s;
        }
      }
    }
  });
}

void upsample_forward(const UpsampleArgs& a) {
  const bool nearest = !a.w.two_taps;  // nearest has one tap on both axes; linear two on W
  PE_DISPATCH_FLOATING(a.dtype, "upsample", [&] {
    if (nearest)
      forward_t<scalar_t, true, false, false>(a);
    else if (a.h.two_taps)
      forward_t<scalar_t, false, true, true>(a);
    else
      forward_t<scalar_t, false, false, true>(a);
  });
}

void upsample_backward(const UpsampleArgs& a) {
  PE_DISPATCH_FLOATING(a.dtype, "upsample_backward", [&] { backward_t<scalar_t>(a); });
}

}  // namespace

PE_REGISTER_CPU_KERNEL(ops::upsample_forward_kernel, upsample_forward);
PE_REGISTER_CPU_KERNEL(ops::upsample_backward_kernel, upsample_backward);

}  // namespace pe::cpu::PE_ISA_NS

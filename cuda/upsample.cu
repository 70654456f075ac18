// Nearest / (bi)linear upsampling on the GPU, forward and backward, over the per-axis tables the
// op layer built (ops/upsample.h: UpsampleAxis / UpsampleArgs and the kernel contract).
//
// The tables are uploaded once per call: one int64 buffer (indices, adjoint lists) and one
// buffer of weights in the input's dtype. Forward: one thread per output, consecutive threads
// along W, so the writes are coalesced and the reads nearly so (neighbouring outputs read
// neighbouring inputs). Backward is a gather: one thread per input element sums its H-adjoint
// list times its W-adjoint list of dL/dy - no atomics, a deterministic result, the CPU's order.
#include <cstdint>
#include <vector>

#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "cuda/strided.h"
#include "ops/upsample.h"

namespace pe::cuda {
namespace {

using ops::UpsampleArgs;
using ops::UpsampleAxis;

// One axis's tables on the device.
template <class T>
struct AxisTable {
  const int64_t *i0, *i1, *start, *src;
  const T *w0, *w1, *weight;
  int64_t in, out;
  bool two_taps;
};

template <class T>
struct Tables {
  DeviceBuffer ints, reals;
  AxisTable<T> h, w;
};

template <class T>
Tables<T> upload(const UpsampleArgs& a, bool adjoint) {
  std::vector<int64_t> ints;
  std::vector<T> reals;
  std::vector<size_t> at_i, at_r;
  for (const UpsampleAxis* ax : {&a.h, &a.w}) {
    for (const std::vector<int64_t>* v : {&ax->i0, &ax->i1, &ax->start, &ax->src}) {
      at_i.push_back(ints.size());
      if (adjoint || v == &ax->i0 || v == &ax->i1) ints.insert(ints.end(), v->begin(), v->end());
    }
    for (const std::vector<double>* v : {&ax->w0, &ax->w1, &ax->weight}) {
      at_r.push_back(reals.size());
      if (adjoint || v != &ax->weight) reals.insert(reals.end(), v->begin(), v->end());  // exact in T
    }
  }
  Tables<T> t;
  t.ints = DeviceBuffer::upload(ints);
  t.reals = DeviceBuffer::upload(reals);
  const int64_t* ip = t.ints.template as<int64_t>();
  const T* rp = t.reals.template as<T>();
  int k = 0;
  for (AxisTable<T>* ax : {&t.h, &t.w}) {
    const UpsampleAxis& src = ax == &t.h ? a.h : a.w;
    ax->i0 = ip + at_i[4 * k], ax->i1 = ip + at_i[4 * k + 1], ax->start = ip + at_i[4 * k + 2],
    ax->src = ip + at_i[4 * k + 3];
    ax->w0 = rp + at_r[3 * k], ax->w1 = rp + at_r[3 * k + 1], ax->weight = rp + at_r[3 * k + 2];
    ax->in = src.in, ax->out = src.out, ax->two_taps = src.two_taps;
    ++k;
  }
  return t;
}

// Element strides of x as (N, C, H, W).
struct XStrides {
  int64_t n, c, h, w;
};

template <class T>
__global__ void forward_kernel(T* out, const T* x, XStrides s, int64_t channels, AxisTable<T> th, AxisTable<T> tw,
                               int64_t total) {
  PE_GRID_STRIDE_LOOP(i, total) {
    const int64_t ow = i % tw.out, rest = i / tw.out;
    const int64_t oh = rest % th.out, p = rest / th.out;
    const T* xp = x + (p / channels) * s.n + (p % channels) * s.c;
    const T* r0 = xp + th.i0[oh] * s.h;
    const int64_t a = tw.i0[ow] * s.w;
    if (!tw.two_taps) {  // nearest: one tap on both axes
      out[i] = r0[a];
      continue;
    }
    const int64_t b = tw.i1[ow] * s.w;
    const T ww0 = tw.w0[ow], ww1 = tw.w1[ow];
    const T v0 = ww0 * r0[a] + ww1 * r0[b];
    if (th.two_taps) {
      const T* r1 = xp + th.i1[oh] * s.h;
      const T v1 = ww0 * r1[a] + ww1 * r1[b];
      out[i] = th.w0[oh] * v0 + th.w1[oh] * v1;
    } else {
      out[i] = th.w0[oh] * v0;
    }
  }
}

template <class T>
__global__ void backward_kernel(T* gx, const T* g, AxisTable<T> th, AxisTable<T> tw, int64_t total) {
  PE_GRID_STRIDE_LOOP(i, total) {
    const int64_t w = i % tw.in, rest = i / tw.in;
    const int64_t h = rest % th.in, p = rest / th.in;
    T acc = T(0);
    for (int64_t k = th.start[h]; k < th.start[h + 1]; ++k) {
      const T* gr = g + (p * th.out + th.src[k]) * tw.out;
      T s = T(0);
      for (int64_t j = tw.start[w]; j < tw.start[w + 1]; ++j) s += tw.weight[j] * gr[tw.src[j]];
      acc += th.weight[k] * s;
    }
    gx[i] = acc;
  }
}

template <class T>
void forward_t(const UpsampleArgs& a) {
  const Tables<T> t = upload<T>(a, false);
  const int64_t total = a.batch * a.channels * a.h.out * a.w.out;
  const XStrides s{a.x_strides[0], a.x_strides[1], a.x_strides[2], a.x_strides[3]};
  auto* k = &forward_kernel<T>;
  PE_LAUNCH(k, blocks_for(total), kThreads, 0, static_cast<T*>(a.out), static_cast<const T*>(a.in), s, a.channels,
            t.h, t.w, total);
}

template <class T>
void backward_t(const UpsampleArgs& a) {
  const Tables<T> t = upload<T>(a, true);
  const int64_t total = a.batch * a.channels * a.h.in * a.w.in;
  auto* k = &backward_kernel<T>;
  PE_LAUNCH(k, blocks_for(total), kThreads, 0, static_cast<T*>(a.out), static_cast<const T*>(a.in), t.h, t.w, total);
}

void upsample_forward(const UpsampleArgs& a) {
  if (a.dtype == DType::Float64) return forward_t<double>(a);
  forward_t<float>(a);
}

void upsample_backward(const UpsampleArgs& a) {
  if (a.dtype == DType::Float64) return backward_t<double>(a);
  backward_t<float>(a);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::upsample_forward_kernel, upsample_forward);
PE_REGISTER_CUDA_KERNEL(ops::upsample_backward_kernel, upsample_backward);

}  // namespace pe::cuda

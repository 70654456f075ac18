// Max and average pooling on the GPU, forward and backward, over the window tables the op layer
// built (ops/pool.h: PoolAxis / PoolArgs and the kernel contract).
//
// The tables are uploaded once per call as one int64 buffer (AxisTable views into it). Forward:
// one thread per output, walking its window's taps in PyTorch's order (window row, then column),
// so max's NaN/tie rule and average's summation order match the CPU. Average backward is a
// gather: one thread per input element sums dL/dy / divisor over the outputs whose windows hold
// it (the host tabulates, per input position, the range of outputs that can reach it), so no
// atomics and a deterministic result. Max backward scatters dL/dy at the saved indices with
// atomicAdd (indices are data: any output may point anywhere in its plane) and raises a device
// flag for an index out of range, which the launcher copies back.
#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "cuda/cuda_emu.h"
#include "cuda/device_buffer.h"
#include "cuda/strided.h"
#include "ops/pool.h"

namespace pe::cuda {
namespace {

using ops::PoolArgs;
using ops::PoolAxis;

// One axis's tables on the device: per output first/count/extent, per input the half-open
// range [reach_lo, reach_hi) of outputs whose window span covers it (backward only).
struct AxisTable {
  const int64_t *first, *count, *extent, *reach_lo, *reach_hi;
  int64_t in, out, dilation;
};

// Per input i: the outputs o with first[o] <= i <= first[o] + (count[o] - 1) * dilation form a
// contiguous range when both window ends are non-decreasing in o, which holds for dilation 1
// (ops/pool.h; average pooling has no dilation). Otherwise every output is in range.
void append_reach(const PoolAxis& a, std::vector<int64_t>& host) {
  std::vector<int64_t> lo(a.in, 0), hi(a.in, a.out);
  int64_t o_lo = 0, o_hi = 0;
  for (int64_t i = 0; i < a.in && a.dilation == 1; ++i) {
    while (o_lo < a.out && (a.count[o_lo] == 0 || a.first[o_lo] + (a.count[o_lo] - 1) * a.dilation < i)) ++o_lo;
    while (o_hi < a.out && (a.count[o_hi] == 0 || a.first[o_hi] <= i)) ++o_hi;
    lo[i] = o_lo, hi[i] = std::max(o_lo, o_hi);
  }
  host.insert(host.end(), lo.begin(), lo.end());
  host.insert(host.end(), hi.begin(), hi.end());
}

// Both axes' tables, in one device buffer.
struct Tables {
  DeviceBuffer buffer;
  AxisTable h, w;
};

Tables upload(const PoolArgs& a, bool reach) {
  std::vector<int64_t> host;
  std::vector<size_t> at;  // offsets of each array in `host`
  for (const PoolAxis* ax : {&a.h, &a.w}) {
    for (const std::vector<int64_t>* v : {&ax->first, &ax->count, &ax->extent}) {
      at.push_back(host.size());
      host.insert(host.end(), v->begin(), v->end());
    }
    at.push_back(host.size());
    if (reach) append_reach(*ax, host);
    at.push_back(reach ? host.size() - ax->in : host.size());
  }
  Tables t;
  t.buffer = DeviceBuffer::upload(host);
  const int64_t* d = t.buffer.as<int64_t>();
  AxisTable* out[2] = {&t.h, &t.w};
  const PoolAxis* ax[2] = {&a.h, &a.w};
  for (int k = 0; k < 2; ++k) {
    const size_t* o = &at[5 * k];
    *out[k] = {d + o[0], d + o[1], d + o[2], d + o[3], d + o[4], ax[k]->in, ax[k]->out, ax[k]->dilation};
  }
  return t;
}

template <class T>
__device__ __forceinline__ T lowest() {
  if constexpr (std::is_floating_point<T>::value) return -INFINITY;
  else return INT64_MIN;
}

template <class T>
__device__ __forceinline__ bool is_nan(T v) {
  if constexpr (std::is_floating_point<T>::value) return v != v;
  else return false;
}

// The divisor of output (oh, ow), in T as on the CPU.
template <class T>
__device__ __forceinline__ T divisor(const AxisTable& h, const AxisTable& w, int64_t oh, int64_t ow,
                                     int64_t override_) {
  if (override_) return T(override_);
  return (h.count[oh] > 0 ? T(h.extent[oh]) : T(1)) * (w.count[ow] > 0 ? T(w.extent[ow]) : T(1));
}

// Output index j (contiguous over planes, oh, ow) -> its plane's first input element.
struct PlaneGeometry {
  int64_t channels, sn, sc, sh, sw;
  __device__ __forceinline__ int64_t base(int64_t plane) const { return plane / channels * sn + plane % channels * sc; }
};

template <class T, bool kIdx>
__global__ void max_forward_kernel(const T* x, T* y, int64_t* indices, PlaneGeometry g, AxisTable h, AxisTable w,
                                   int64_t total) {
  PE_GRID_STRIDE_LOOP(j, total) {
    const int64_t ow = j % w.out, oh = j / w.out % h.out, plane = j / (w.out * h.out);
    const T* xp = x + g.base(plane);
    const int64_t ih0 = h.first[oh], ch = h.count[oh], iw0 = w.first[ow], cw = w.count[ow];
    T best = lowest<T>();
    int64_t bi = (ch > 0 && cw > 0) ? ih0 * w.in + iw0 : -1;
    for (int64_t th = 0; th < ch; ++th) {
      const int64_t ih = ih0 + th * h.dilation;
      for (int64_t tw = 0; tw < cw; ++tw) {
        const int64_t iw = iw0 + tw * w.dilation;
        const T v = xp[ih * g.sh + iw * g.sw];
        if (v > best || is_nan(v)) best = v, bi = ih * w.in + iw;
      }
    }
    y[j] = best;
    if (kIdx) indices[j] = bi;
  }
}

template <class T>
__global__ void avg_forward_kernel(const T* x, T* y, PlaneGeometry g, AxisTable h, AxisTable w, int64_t override_,
                                   int64_t total) {
  PE_GRID_STRIDE_LOOP(j, total) {
    const int64_t ow = j % w.out, oh = j / w.out % h.out, plane = j / (w.out * h.out);
    const T* xp = x + g.base(plane);
    T acc = T(0);
    for (int64_t th = 0; th < h.count[oh]; ++th) {
      const T* row = xp + (h.first[oh] + th * h.dilation) * g.sh;
      for (int64_t tw = 0; tw < w.count[ow]; ++tw) acc += row[(w.first[ow] + tw * w.dilation) * g.sw];
    }
    y[j] = acc / divisor<T>(h, w, oh, ow, override_);
  }
}

// Whether input i lies on a tap of output o's window (o is in i's reach range).
__device__ __forceinline__ bool on_tap(const AxisTable& a, int64_t o, int64_t i) {
  const int64_t d = i - a.first[o];
  return d >= 0 && d % a.dilation == 0 && d / a.dilation < a.count[o];
}

template <class T>
__global__ void avg_backward_kernel(T* gx, const T* gy, AxisTable h, AxisTable w, int64_t override_, int64_t total) {
  PE_GRID_STRIDE_LOOP(i, total) {
    const int64_t iw = i % w.in, ih = i / w.in % h.in, plane = i / (w.in * h.in);
    const T* g = gy + plane * h.out * w.out;
    T acc = T(0);
    for (int64_t oh = h.reach_lo[ih]; oh < h.reach_hi[ih]; ++oh) {
      if (!on_tap(h, oh, ih)) continue;
      for (int64_t ow = w.reach_lo[iw]; ow < w.reach_hi[iw]; ++ow)
        if (on_tap(w, ow, iw)) acc += g[oh * w.out + ow] / divisor<T>(h, w, oh, ow, override_);
    }
    gx[i] = acc;
  }
}

template <class T>
__global__ void zero_kernel(T* p, int64_t n) {
  PE_GRID_STRIDE_LOOP(i, n) { p[i] = T(0); }
}

template <class T>
__global__ void max_backward_kernel(T* gx, const T* gy, const int64_t* indices, int64_t plane_in, int64_t plane_out,
                                    int64_t total, int* bad) {
  PE_GRID_STRIDE_LOOP(j, total) {
    const int64_t i = indices[j];
    if (i >= 0 && i < plane_in)
      atomicAdd(gx + j / plane_out * plane_in + i, gy[j]);
    else if (i != -1)  // -1: a window with no input element gets no gradient
      *bad = 1;
  }
}

PlaneGeometry plane_geometry(const PoolArgs& a) {
  return {a.channels, a.x_strides[0], a.x_strides[1], a.x_strides[2], a.x_strides[3]};
}

template <class T>
void max_forward_t(const PoolArgs& a) {
  const Tables t = upload(a, false);
  const int64_t total = a.batch * a.channels * a.h.out * a.w.out;
  const T* x = static_cast<const T*>(a.x);
  T* y = static_cast<T*>(a.y);
  if (a.indices) {
    auto* k = &max_forward_kernel<T, true>;
    PE_LAUNCH(k, blocks_for(total), kThreads, 0, x, y, a.indices, plane_geometry(a), t.h, t.w, total);
  } else {
    auto* k = &max_forward_kernel<T, false>;
    PE_LAUNCH(k, blocks_for(total), kThreads, 0, x, y, a.indices, plane_geometry(a), t.h, t.w, total);
  }
}

void max_forward(const PoolArgs& a) {
  switch (a.dtype) {
    case DType::Float32: return max_forward_t<float>(a);
    case DType::Float64: return max_forward_t<double>(a);
    case DType::Int64: return max_forward_t<int64_t>(a);
    default: throw TypeError(str("max pooling on CUDA: unsupported dtype ", dtype_name(a.dtype)));
  }
}

template <class T>
void avg_forward_t(const PoolArgs& a) {
  const Tables t = upload(a, false);
  const int64_t total = a.batch * a.channels * a.h.out * a.w.out;
  auto* k = &avg_forward_kernel<T>;
  PE_LAUNCH(k, blocks_for(total), kThreads, 0, static_cast<const T*>(a.x), static_cast<T*>(a.y), plane_geometry(a),
            t.h, t.w, a.divisor_override, total);
}

void avg_forward(const PoolArgs& a) {
  if (a.dtype == DType::Float64) return avg_forward_t<double>(a);
  avg_forward_t<float>(a);
}

template <class T>
void avg_backward_t(const PoolArgs& a, void* gx, const void* gy) {
  const Tables t = upload(a, true);
  const int64_t total = a.batch * a.channels * a.h.in * a.w.in;
  auto* k = &avg_backward_kernel<T>;
  PE_LAUNCH(k, blocks_for(total), kThreads, 0, static_cast<T*>(gx), static_cast<const T*>(gy), t.h, t.w,
            a.divisor_override, total);
}

void avg_backward(const PoolArgs& a, void* gx, const void* gy) {
  if (a.dtype == DType::Float64) return avg_backward_t<double>(a, gx, gy);
  avg_backward_t<float>(a, gx, gy);
}

template <class T>
bool max_backward_t(const PoolArgs& a, void* gx_, const void* gy, const int64_t* indices) {
  const int64_t plane_in = a.h.in * a.w.in, plane_out = a.h.out * a.w.out, planes = a.batch * a.channels;
  T* gx = static_cast<T*>(gx_);
  auto* zero = &zero_kernel<T>;
  PE_LAUNCH(zero, blocks_for(planes * plane_in), kThreads, 0, gx, planes * plane_in);
  const int64_t total = planes * plane_out;
  DeviceBuffer flag = DeviceBuffer::upload(std::vector<int>{0});
  if (total > 0) {
    auto* k = &max_backward_kernel<T>;
    PE_LAUNCH(k, blocks_for(total), kThreads, 0, gx, static_cast<const T*>(gy), indices, plane_in, plane_out, total,
              flag.as<int>());
  }
  int bad = 0;
  cuda_hooks().copy_to_host(&bad, flag.get(), sizeof(int), current_cuda_device());
  return bad == 0;
}

bool max_backward(const PoolArgs& a, void* gx, const void* gy, const int64_t* indices) {
  if (a.dtype == DType::Float64) return max_backward_t<double>(a, gx, gy, indices);
  return max_backward_t<float>(a, gx, gy, indices);
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::max_pool_forward_kernel, max_forward);
PE_REGISTER_CUDA_KERNEL(ops::max_pool_backward_kernel, max_backward);
PE_REGISTER_CUDA_KERNEL(ops::avg_pool_forward_kernel, avg_forward);
PE_REGISTER_CUDA_KERNEL(ops::avg_pool_backward_kernel, avg_backward);

}  // namespace pe::cuda

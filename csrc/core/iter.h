// The one strided loop every elementwise-style kernel runs on.
//
// N operands (by convention the output first) share one shape; broadcasting is expressed
// beforehand as stride 0. The loop drops size-1 dims, merges dims that are contiguous for
// every operand, then calls
//     inner(char* const ptrs[N], const int64_t byte_strides[N], int64_t n)
// for runs along the innermost dim. Kernels check `byte_strides[k] == sizeof(T)` to take a
// vectorisable contiguous path. Large loops are split over threads by linear index, so the
// result never depends on the thread count.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "core/parallel.h"
#include "core/small_dims.h"
#include "core/tensor.h"

namespace pe {

// Dims are kept inline up to this many (after size-1 dims are dropped); more spill to the heap.
using LoopDims = SmallDims<6>;

template <int N>
class StridedLoop {
 public:
  // `byte_strides[k][d]`: operand k's stride in bytes along dim d of `shape`.
  StridedLoop(const Shape& shape, const std::array<char*, N>& base, const std::array<LoopDims, N>& byte_strides)
      : base_(base) {
    numel_ = shape_numel(shape);
    if (numel_ == 0) {  // nothing to visit; an empty tensor's sizes and strides may overflow in products
      shape_.push_back(0);
      for (int k = 0; k < N; ++k) strides_[k].push_back(0);
      return;
    }
    // Keep dims of size > 1, outermost first, merging a dim into the one before it when that
    // is contiguous for every operand.
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1) continue;
      bool merge = !shape_.empty();
      for (int k = 0; k < N && merge; ++k)
        if (strides_[k].back() != byte_strides[k][d] * shape[d]) merge = false;
      if (merge) {
        shape_.back() *= shape[d];
        for (int k = 0; k < N; ++k) strides_[k].back() = byte_strides[k][d];
      } else {
        shape_.push_back(shape[d]);
        for (int k = 0; k < N; ++k) strides_[k].push_back(byte_strides[k][d]);
      }
    }
    if (shape_.empty()) {  // a scalar loop: one element
      shape_.push_back(1);
      for (int k = 0; k < N; ++k) strides_[k].push_back(0);
    }
  }

  int64_t numel() const { return numel_; }
  int64_t ndim() const { return static_cast<int64_t>(shape_.size()); }

  // Runs `inner` over all elements; `cost` is the work per element for the threading decision.
  template <class F>
  void run(F&& inner, int64_t cost = 1) const {
    if (numel_ == 0) return;
    parallel_for(numel_, cost, [&](int64_t begin, int64_t end) { run_range(begin, end, inner); });
  }

  // Single-threaded; for kernels whose inner body must see elements in order.
  template <class F>
  void run_serial(F&& inner) const {
    if (numel_ > 0) run_range(0, numel_, inner);
  }

 private:
  template <class F>
  void run_range(int64_t begin, int64_t end, F& inner) const {
    const int64_t nd = ndim();
    const int64_t last = nd - 1;
    std::array<int64_t, N> inner_strides;
    for (int k = 0; k < N; ++k) inner_strides[k] = strides_[k][last];
    std::array<char*, N> ptrs;
    if (nd == 1) {  // one run (the usual case once contiguous dims are merged)
      for (int k = 0; k < N; ++k) ptrs[k] = base_[k] + begin * inner_strides[k];
      inner(ptrs.data(), inner_strides.data(), end - begin);
      return;
    }
    // Unravel `begin` into a multi-index (innermost dim last).
    LoopDims idx(nd, 0);
    int64_t rem = begin;
    for (int64_t d = last; d >= 0; --d) {
      idx[d] = rem % shape_[d];
      rem /= shape_[d];
    }
    while (begin < end) {
      for (int k = 0; k < N; ++k) {
        char* p = base_[k];
        for (int64_t d = 0; d < nd; ++d) p += idx[d] * strides_[k][d];
        ptrs[k] = p;
      }
      int64_t n = std::min(shape_[last] - idx[last], end - begin);
      inner(ptrs.data(), inner_strides.data(), n);
      begin += n;
      idx[last] += n;
      for (int64_t d = last; d > 0 && idx[d] >= shape_[d]; --d) {
        idx[d] = 0;
        ++idx[d - 1];
      }
    }
  }

  LoopDims shape_;
  std::array<LoopDims, N> strides_;
  std::array<char*, N> base_;
  int64_t numel_ = 0;
};

// Byte strides of `t` seen with an `nd`-dim broadcast shape, written into `out` (already sized
// nd and zeroed): right-aligned broadcasting, so missing and size-1 dims that are expanded keep
// stride 0. The caller has checked broadcastability. An empty tensor addresses nothing: its
// strides (which may be saturated, see contiguous_strides) stay 0 rather than overflow in bytes.
template <class Dims>
void write_broadcast_byte_strides(const Tensor& t, int64_t nd, Dims& out) {
  if (t.numel() == 0) return;
  const int64_t offset = nd - t.ndim();
  for (int64_t d = 0; d < t.ndim(); ++d)
    if (t.shape()[d] != 1) out[d + offset] = t.strides()[d] * static_cast<int64_t>(t.itemsize());
}

inline Shape broadcast_byte_strides(const Tensor& t, const Shape& shape) {
  Shape out(shape.size(), 0);
  write_broadcast_byte_strides(t, static_cast<int64_t>(shape.size()), out);
  return out;
}

// A loop over tensors that all broadcast to `shape` (operand 0 usually is the output).
template <int N>
StridedLoop<N> make_loop(const Shape& shape, const std::array<const Tensor*, N>& ts) {
  std::array<char*, N> base;
  std::array<LoopDims, N> strides;
  const int64_t nd = static_cast<int64_t>(shape.size());
  for (int k = 0; k < N; ++k) {
    const Tensor& t = *ts[k];
    base[k] = static_cast<char*>(t.raw_data());
    strides[k].resize(shape.size(), 0);
    write_broadcast_byte_strides(t, nd, strides[k]);
  }
  return StridedLoop<N>(shape, base, strides);
}

}  // namespace pe

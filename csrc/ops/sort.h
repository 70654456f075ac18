// topk: the indices of the k largest (or smallest) elements along one dim, in rank order
// (csrc/math/topk_order.h: NaN above every number, ties by ascending index). float32, float64
// and int64; any strides; the result is a contiguous int64 tensor of the input's shape with
// the dim's size replaced by k. The values are a gather of the input at these indices (done in
// Python, where the gather's autograd gives topk its gradient). Device-neutral: validates,
// allocates, ends in one kernel slot.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

Tensor topk_indices(const Tensor& x, int64_t k, int64_t dim, bool largest);

// ---------------------------------------------------------------- kernels
// ROWS as in ops/softmax.h: one row per index of the kept dims (every dim but `dim`), `n`
// elements along it, each operand with its own strides (in elements).
struct TopkArgs {
  DType dtype = DType::Float32;  // the input's dtype
  bool largest = true;
  Shape row_shape;               // the kept dims (may be empty: one row)
  int64_t n = 0;                 // length of each input row
  int64_t k = 0;                 // indices per output row
  const void* in = nullptr;
  Shape in_row_strides;
  int64_t in_stride = 1;
  int64_t* out = nullptr;        // int64 indices
  Shape out_row_strides;
  int64_t out_stride = 1;
};

// Kernel contract: at least one row, 1 <= k <= n; out does not overlap the input; pointers on
// the slot's device. out[r, j] = the index (along the dim) of row r's element of rank j.
inline KernelSlot<void (*)(const TopkArgs&)> topk_kernel{"topk"};

}  // namespace pe::ops

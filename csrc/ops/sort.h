// The sort family's engine half: every op returns int64 INDICES along the dim, and Python gathers
// the values, so their gradient (and its gradient) is gather's.
//
// topk: the indices of the k largest (or smallest) elements along one dim, in rank order
// (csrc/math/topk_order.h: NaN above every number, ties by ascending index). float32, float64
// and int64; any strides; the result is a contiguous int64 tensor of the input's shape with
// the dim's size replaced by k. The values are a gather of the input at these indices (done in
// Python, where the gather's autograd gives topk its gradient). Device-neutral: validates,
// allocates, ends in one kernel slot.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"

#include <optional>

namespace pe::ops {

Tensor topk_indices(const Tensor& x, int64_t k, int64_t dim, bool largest);
// sort: a whole row in the same order (ascending, or descending = largest), so equal values
// keep their input order (stable) and NaN is last ascending, first descending, as PyTorch.
Tensor sort_indices(const Tensor& x, int64_t dim, bool descending);
// median: per row, the index of the lower median, the element of rank (n - 1) / 2 in
// ascending order; a row with a NaN gives its first NaN (median is NaN there, as PyTorch);
// ignore_nan (nanmedian): the lower median of the row's numbers, the first NaN when all are
// NaN. The result keeps the dim with size 1.
Tensor median_indices(const Tensor& x, int64_t dim, bool ignore_nan);
// mode: per row, the most frequent value (ties: the smallest; NaNs count as one value), as the
// index of its LAST occurrence (PyTorch's choice). The result keeps the dim with size 1.
Tensor mode_indices(const Tensor& x, int64_t dim);
// searchsorted: for each value, the insertion point in its row of `sorted` (1-D: one row shared
// by every value; else the same leading dims as `values`), left (first position p with
// sorted[p] >= v) or right (first with sorted[p] > v); `sorter` (optional, sorted's shape)
// permutes each row into ascending order. int64 result of values' shape.
Tensor searchsorted(const Tensor& sorted, const Tensor& values, bool right, const std::optional<Tensor>& sorter);

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
// sort: the topk contract with k == n (the whole row in rank order).
inline KernelSlot<void (*)(const TopkArgs&)> sort_kernel{"sort"};

struct MedianArgs {
  DType dtype = DType::Float32;
  bool ignore_nan = false;
  Shape row_shape;
  int64_t n = 0;
  const void* in = nullptr;
  Shape in_row_strides;
  int64_t in_stride = 1;
  int64_t* out = nullptr;  // one index per row
  Shape out_row_strides;
};
// Kernel contract: at least one row, n >= 1; the element picked by rank under the sort order
// (math/topk_order.h), so every backend picks the same index.
inline KernelSlot<void (*)(const MedianArgs&)> median_kernel{"median"};

struct ModeArgs {
  DType dtype = DType::Float32;
  Shape row_shape;
  int64_t n = 0;
  const void* in = nullptr;
  Shape in_row_strides;
  int64_t in_stride = 1;
  const int64_t* order = nullptr;  // contiguous rows of n: each row's indices, sorted ascending
  int64_t* out = nullptr;          // one index per row
  Shape out_row_strides;
};
// Kernel contract: at least one row, n >= 1; `order` as sort_kernel writes it (ascending).
inline KernelSlot<void (*)(const ModeArgs&)> mode_kernel{"mode"};

struct SearchArgs {
  DType dtype = DType::Float32;    // of boundaries and values alike
  bool right = false;
  int64_t rows = 1;                // boundary rows
  int64_t n = 0;                   // boundaries per row
  int64_t m = 0;                   // values per row (all of them when rows == 1)
  const void* boundaries = nullptr;  // contiguous rows x n
  const int64_t* sorter = nullptr;   // nullptr, or contiguous rows x n, each entry in [0, n)
  const void* values = nullptr;      // contiguous rows x m
  int64_t* out = nullptr;            // contiguous rows x m
};
// Kernel contract: rows * m >= 1 values; n may be 0 (every answer 0).
inline KernelSlot<void (*)(const SearchArgs&)> searchsorted_kernel{"searchsorted"};

}  // namespace pe::ops

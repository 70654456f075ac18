// The scan family: running sums, products, log-sum-exps (cumsum, cumprod, logcumsumexp) and
// running maxima/minima (cummax, cummin, as the index that holds the extremum: Python gathers
// the values, so their gradient is gather's) along one dim, from the start or, for the
// backward formulas, from the end (reverse). Float32, float64 and int64 (logcumsumexp:
// floating only); any strides (the result is contiguous); a 0-d tensor is one row of length 1.
// Device-neutral: validates, allocates, ends in one kernel slot.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/scan_math.h"

namespace pe::ops {

using ::pe::scan::ScanOp;

// Sum, Prod or LogSumExp: the running result in x's dtype.
Tensor scan(const Tensor& x, int64_t dim, ScanOp op, bool reverse);
// Max or Min: int64 indices (along dim) of the running extremum (ties: the last index, a NaN
// wins and stays: PyTorch's rule, math/scan_math.h).
Tensor scan_indices(const Tensor& x, int64_t dim, ScanOp op);

// ---------------------------------------------------------------- kernels
// ROWS as in ops/softmax.h: one row per index of the kept dims, `n` elements along the dim.
struct ScanArgs {
  DType dtype = DType::Float32;  // the input's dtype
  ScanOp op = ScanOp::Sum;
  bool reverse = false;          // scan from the row's end towards its start
  Shape row_shape;               // the kept dims (may be empty: one row)
  int64_t n = 0;                 // length of each row
  const void* in = nullptr;
  Shape in_row_strides;
  int64_t in_stride = 1;
  void* out = nullptr;           // x's dtype (Sum/Prod/LogSumExp) or int64 indices (Max/Min)
  Shape out_row_strides;
  int64_t out_stride = 1;
};

// Kernel contract: at least one row and n >= 1; LogSumExp only for float32/float64; out does
// not overlap the input; pointers on the slot's device. out[r, i] = the op over row r's
// elements 0..i (reverse: i..n-1).
inline KernelSlot<void (*)(const ScanArgs&)> scan_kernel{"scan"};

}  // namespace pe::ops

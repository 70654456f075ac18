// Indexing, joining and structured creation (PyTorch semantics). Each op checks its arguments
// once (dtypes, shapes, devices, every index value: through index_range_kernel, on the index's
// device) and ends in the family's kernel slots below; cat is a strided copy per input.
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/dispatch.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace pe::ops {

// Join along `dim`; dtypes promote; 1-D tensors of shape (0,) are skipped (PyTorch's legacy rule).
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);

// out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1); out has index's shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// x[i][index[i][j][k]][k] += src[i][j][k] (dim = 1), duplicates summed (in index order on the CPU).
Tensor scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// x[i][index[i][j][k]][k] = src[i][j][k] (dim = 1); with reduce "add" or "multiply" (PyTorch's
// scatter_ reduce argument) the element is combined instead. Duplicate indices without reduce:
// on the CPU the last one wins, on CUDA any one may.
Tensor scatter_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                const std::optional<std::string>& reduce);
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
               const std::optional<std::string>& reduce);
// PyTorch's scatter_reduce: reduce is "sum", "prod", "mean", "amax" or "amin". include_self =
// false: x's elements that are scattered to start from the reduction's identity (x's own value
// takes no part); the others keep x. mean divides by the number of values reduced (x's own
// counted when include_self), floor division for integer dtypes; amax/amin propagate NaN.
Tensor scatter_reduce_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                       const std::string& reduce, bool include_self);
Tensor scatter_reduce(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                      const std::string& reduce, bool include_self);
// x's slices index[j] along dim += alpha * source's slice j (1-D int64 index, duplicates add up;
// source has x's shape except size index.numel() along dim, and x's dtype).
Tensor index_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha);
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, Scalar alpha);
// x's slices index[0], index[1], ... along dim (1-D int64 index, no wrapping).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);

// Advanced indexing of x's first k dims by k int64 index tensors that broadcast to a shape B:
// result[b, ...] = x[i0[b], ..., ik-1[b], ...], shape B + x.shape[k:]. Negative indices wrap.
// Index tensors (and index_put_'s values) on another device are moved to x's, as in PyTorch.
Tensor index_take(const Tensor& x, const std::vector<Tensor>& indices);
// The inverse: x[i0[b], ..., ik-1[b], ...] = values[b, ...] (or += when accumulate; duplicates
// add up). values is converted to x's dtype and broadcast to B + x.shape[k:].
Tensor index_put_(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate);

Tensor nonzero(const Tensor& x);  // (n, ndim) int64 coordinates in row-major order
Tensor tril(const Tensor& x, int64_t diagonal);
Tensor triu(const Tensor& x, int64_t diagonal);
// int64 idx -> idx.shape + (num_classes,) int64; num_classes = -1 means max(idx) + 1.
Tensor one_hot(const Tensor& idx, int64_t num_classes);

// [start, end) by step: ceil((end - start) / step) values. Filled on `device`. For int64 the
// arguments are truncated to int64 first (PyTorch) and everything is exact integer arithmetic;
// an element count or byte size that overflows is a ValueError naming start, end and step.
Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype, Device device = {});
Tensor linspace(double start, double end, int64_t steps, DType dtype, Device device = {});
Tensor eye(int64_t n, std::optional<int64_t> m, DType dtype, Device device = {});

// ---- kernels ----
//
// Contract for every slot below: all pointers are on one device (the slot's), the op layer has
// checked shapes, dtypes and every index value, and the arguments describe memory that exists.
// Strides and steps are in ELEMENTS of the operand they belong to, one stride per dim of the
// struct's `shape` (0 where the operand is broadcast). Index operands are int64.

// One strided operand: its first element and its strides over the kernel's shape.
struct IndexOperand {
  void* data = nullptr;
  Shape strides;
};

// The first row-major position i < n with index[i] outside [lo, hi), and that value; position
// -1 when every value is inside. index: contiguous, n elements. The op layer raises the error
// from this (the same message on every device, before anything is written). CUDA: blocks write
// their first bad position to device memory, the launcher copies those back and reads the value.
struct IndexRangeArgs {
  const int64_t* index = nullptr;
  int64_t n = 0;
  int64_t lo = 0, hi = 0;
};
struct IndexRangeResult {
  int64_t position = -1;
  int64_t value = 0;
};
inline KernelSlot<IndexRangeResult (*)(const IndexRangeArgs&)> index_range_kernel{"index bounds check"};

// Read through indices: out[p] = x[p + index[p] * scale] for every position p of `shape`.
// out, x and index are views with that shape (x has stride 0 along the indexed dim, index
// stride 0 along the copied ones); every x[p + index[p] * scale] is an element of x. Any dtype
// (the kernel only moves bits). out never overlaps x or index.
struct TakeArgs {
  DType dtype = DType::Float32;  // of x and out
  Shape shape;
  IndexOperand out, x, index;
  int64_t scale = 1;
};
inline KernelSlot<void (*)(const TakeArgs&)> take_kernel{"index take"};

// How put combines a value with the element it lands on: store it, or fold it in (sum: +,
// bool: logical or; prod: *, bool: and; max/min: NaN propagates, as torch.maximum).
enum class PutMode : int { Store, Sum, Prod, Max, Min };

// Write through indices: for j = 0 .. steps-1 and every position p of `shape`,
//     x[p + index[p + j*index_step] * scale]  (mode)=  src[p + j*src_step]
// Distinct p never reach the same element of x (the op layer's views guarantee it), so only
// the j of one p can collide (duplicate indices). CPU: each p walks its j in order, so
// duplicates resolve deterministically on any thread count (last write wins; sums in index
// order). CUDA: Store and Sum run every (j, p) in parallel; Sum uses atomicAdd (float32/float64:
// the sum's rounding may vary from run to run; int64 exact; bool: logical or), and with
// duplicate indices Store's winner is unspecified, as in PyTorch. Prod/Max/Min run each p's j
// in order on one thread (the emulated GPU has no atomicCAS for a CAS loop), so they are
// deterministic. Integer int64 sums and products wrap. Any dtype.
struct PutArgs {
  DType dtype = DType::Float32;  // of x and src
  Shape shape;
  int64_t steps = 0;
  IndexOperand x, src, index;
  int64_t src_step = 0, index_step = 0;
  int64_t scale = 1;
  PutMode mode = PutMode::Store;
};
inline KernelSlot<void (*)(const PutArgs&)> put_kernel{"index put"};

// offsets[b] += (index[b] < 0 ? index[b] + size : index[b]) * stride for every b of `shape`:
// turns one of advanced indexing's index tensors into element offsets into x. offsets:
// contiguous with `shape`; index broadcast to it (values checked in [-size, size)).
struct IndexOffsetArgs {
  Shape shape;
  int64_t* offsets = nullptr;
  IndexOperand index;
  int64_t size = 0, stride = 0;
};
inline KernelSlot<void (*)(const IndexOffsetArgs&)> index_offsets_kernel{"index offsets"};

// The row-major coordinates of x's nonzero elements (NaN counts as nonzero). The kernel counts,
// calls `allocate(n)` once with the count, and writes the (n, ndim) contiguous int64 coordinates
// into what it returns, in row-major order of x (two passes: count per chunk, then each chunk
// writes at its prefix-sum position). Any dtype; x may have any strides.
struct NonzeroArgs {
  DType dtype = DType::Float32;
  Shape shape;
  IndexOperand x;
  std::function<int64_t*(int64_t n)> allocate;
};
inline KernelSlot<void (*)(const NonzeroArgs&)> nonzero_kernel{"nonzero"};

// out (contiguous, `shape` = (..., rows, cols), rows/cols > 0) = x with the elements of each
// matrix above (tril: j > i + diagonal) or below (triu: j < i + diagonal) the diagonal set to
// zero. diagonal is clamped to [-rows - 1, cols + 1], so i + diagonal cannot overflow. Any dtype.
struct TriangleArgs {
  DType dtype = DType::Float32;
  Shape shape;
  void* out = nullptr;
  IndexOperand x;
  int64_t diagonal = 0;
  bool upper = false;
};
inline KernelSlot<void (*)(const TriangleArgs&)> triangle_kernel{"tril/triu"};

// out (contiguous int64, n rows of `classes`) = one-hot rows of index (contiguous, n values,
// each in [0, classes)); classes > 0.
struct OneHotArgs {
  const int64_t* index = nullptr;
  int64_t n = 0, classes = 0;
  int64_t* out = nullptr;
};
inline KernelSlot<void (*)(const OneHotArgs&)> one_hot_kernel{"one_hot"};

// Creation fills of a fresh contiguous tensor of n > 0 elements (dtype int64, float32 or float64;
// eye any dtype): arange out[i] = start + i * step (math/creation_math.h); linspace with n >= 2,
// PyTorch's two-sided formula (exact at both ends); eye (n x m, n, m > 0) ones on the diagonal.
struct ArangeArgs {
  DType dtype = DType::Float32;
  void* out = nullptr;
  int64_t n = 0;
  double start = 0, step = 1;          // float32 / float64
  int64_t int_start = 0, int_step = 1;  // int64 (exact)
};
struct LinspaceArgs {
  DType dtype = DType::Float32;
  void* out = nullptr;
  int64_t n = 0;
  double start = 0, end = 0;
};
struct EyeArgs {
  DType dtype = DType::Float32;
  void* out = nullptr;
  int64_t n = 0, m = 0;
};
inline KernelSlot<void (*)(const ArangeArgs&)> arange_kernel{"arange"};
inline KernelSlot<void (*)(const LinspaceArgs&)> linspace_kernel{"linspace"};
inline KernelSlot<void (*)(const EyeArgs&)> eye_kernel{"eye"};

}  // namespace pe::ops

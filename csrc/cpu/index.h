// CPU kernels for indexing: reading through indices (gather, index_select, index_take),
// writing through them (scatter_add_, index_put_), nonzero, tril/triu and one_hot.
//
// Two primitives carry all the index arithmetic. A "view" below is a Tensor over the same
// storage with another shape/strides (Tensor::as_strided); the op layer builds them so that
// every operand of one call has the same shape, and the index values are checked already.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace pe::cpu {

// Read side:  out[p] = element at (address of x[p]) + idx[p] * scale_bytes, for every p.
// x and idx are views with out's shape; idx is int64. Runs along which idx has stride 0 and
// x/out are contiguous (whole rows of index_take) are copied with memcpy. Parallel over out.
void take(const Tensor& out, const Tensor& x, const Tensor& idx, int64_t scale_bytes);

// Write side: for j = 0 .. steps-1 in order, for every p of x's shape (in parallel over p):
//     target = (address of x[p]) + idx[p + j*idx_step] * scale_bytes
//     *target = src[p + j*src_step]     or  *target += ...  when accumulate
// (x, src, idx are views with one shape; steps are in bytes.) Distinct p never reach the same
// target, and each p sees its j in order, so duplicates resolve the same way on any number
// of threads: the last write wins, or the sum is taken in index order.
void put(const Tensor& x, const Tensor& src, const Tensor& idx, int64_t scale_bytes, int64_t steps,
         int64_t src_step_bytes, int64_t idx_step_bytes, bool accumulate);

// Row-major position of the first value of the contiguous int64 tensor `index` outside
// [lo, hi), or -1 when every value is inside.
int64_t first_out_of_range(const Tensor& index, int64_t lo, int64_t hi);
int64_t max_value(const Tensor& index);  // contiguous, non-empty int64

// offsets[b] += (index[b] < 0 ? index[b] + size : index[b]) * stride over offsets' shape;
// index broadcasts to it. Turns k index tensors into element offsets for take/put.
void add_index_offsets(const Tensor& offsets, const Tensor& index, int64_t size, int64_t stride);

// nonzero in two passes: count per fixed chunk of the row-major order, then write the
// coordinates of each chunk's nonzeros at its prefix-sum position (out: (n, ndim) int64).
std::vector<int64_t> nonzero_counts(const Tensor& x);
void nonzero_fill(const Tensor& out, const Tensor& x, const std::vector<int64_t>& counts);

// out (contiguous, x's shape) = x with the elements above (lower) / below (upper) the
// `diagonal`-th diagonal of the last two dims set to zero.
void tril_triu(const Tensor& out, const Tensor& x, int64_t diagonal, bool upper);

// out (contiguous, idx.shape + (classes,), int64) = one-hot rows; idx contiguous, in range.
void one_hot(const Tensor& out, const Tensor& idx, int64_t classes);

}  // namespace pe::cpu

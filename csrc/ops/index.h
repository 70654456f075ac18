// Indexing, joining and structured creation (PyTorch semantics). Each op checks its
// arguments once (dtypes, shapes, every index value) and then runs the CPU kernels in
// cpu/index.h and cpu/creation.h; CUDA tensors get a RuntimeError for now.
#pragma once
#include <optional>
#include <vector>

#include "core/tensor.h"

namespace pe::ops {

// Join along `dim`; dtypes promote; 1-D tensors of shape (0,) are skipped (PyTorch's legacy rule).
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim);

// out[i][j][k] = x[i][index[i][j][k]][k] (dim = 1); out has index's shape.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// x[i][index[i][j][k]][k] += src[i][j][k] (dim = 1), duplicates summed in index order.
Tensor scatter_add_(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
// x's slices index[0], index[1], ... along dim (1-D int64 index, no wrapping).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);

// Advanced indexing of x's first k dims by k int64 index tensors that broadcast to a shape B:
// result[b, ...] = x[i0[b], ..., ik-1[b], ...], shape B + x.shape[k:]. Negative indices wrap.
Tensor index_take(const Tensor& x, const std::vector<Tensor>& indices);
// The inverse: x[i0[b], ..., ik-1[b], ...] = values[b, ...] (or += when accumulate; duplicates
// add up, deterministically). values is converted to x's dtype and broadcast to B + x.shape[k:].
Tensor index_put_(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values, bool accumulate);

Tensor nonzero(const Tensor& x);  // (n, ndim) int64 coordinates in row-major order
Tensor tril(const Tensor& x, int64_t diagonal);
Tensor triu(const Tensor& x, int64_t diagonal);
// int64 idx -> idx.shape + (num_classes,) int64; num_classes = -1 means max(idx) + 1.
Tensor one_hot(const Tensor& idx, int64_t num_classes);

// [start, end) by step: ceil((end - start) / step) values.
Tensor arange(double start, double end, double step, DType dtype);
Tensor linspace(double start, double end, int64_t steps, DType dtype);
Tensor eye(int64_t n, std::optional<int64_t> m, DType dtype);

}  // namespace pe::ops

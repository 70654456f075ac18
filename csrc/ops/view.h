// View ops: new geometry over the same storage, no data moves. Device-neutral.
#pragma once
#include <optional>

#include "core/tensor.h"

namespace pe::ops {

// Broadcast two shapes (NumPy/PyTorch rules); ValueError names both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Replace one -1 in `shape` by the size that keeps `numel` elements.
Shape infer_shape(const Shape& shape, int64_t numel);

Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset);
Tensor view(const Tensor& t, const Shape& shape);          // RuntimeError if not expressible
// The same bytes read as another dtype (Tensor.view(dtype)): a wider or narrower element type
// divides or multiplies the last dim, which must then be contiguous, as in PyTorch.
Tensor view_dtype(const Tensor& t, DType dtype);
std::optional<Shape> view_strides(const Tensor& t, const Shape& shape);
Tensor reshape(const Tensor& t, const Shape& shape);       // view when possible, else a copy
Tensor permute(const Tensor& t, const Shape& dims);
Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
Tensor expand(const Tensor& t, const Shape& shape);        // -1 keeps a size
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor squeeze(const Tensor& t, std::optional<int64_t> dim);
Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim);
// t[..., start:stop:step, ...] along `dim` with Python's clamping rules (step > 0).
Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop,
             int64_t step);
Tensor select(const Tensor& t, int64_t dim, int64_t index);  // IndexError when out of range
Tensor diagonal(const Tensor& t, int64_t offset, int64_t dim1, int64_t dim2);

}  // namespace pe::ops

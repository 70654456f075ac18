#include "ops/view.h"

#include <algorithm>

#include "core/checked.h"
#include "ops/copy.h"

namespace pe::ops {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    PE_CHECK(da == db || da == 1 || db == 1, ValueError, "shapes ", shape_str(a), " and ", shape_str(b),
             " are not broadcastable: size ", da, " vs ", db, " at dimension ", i);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Shape infer_shape(const Shape& shape, int64_t numel) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      PE_CHECK(infer < 0, ValueError, "only one dimension can be inferred (-1) in shape ", shape_str(shape));
      infer = static_cast<int64_t>(i);
    } else {
      PE_CHECK(out[i] >= 0, ValueError, "invalid shape ", shape_str(shape), ": negative size ", out[i],
               " at dimension ", i);
      // A product past int64 cannot match numel: report it as a mismatch, not an overflow.
      PE_CHECK(!__builtin_mul_overflow(known, out[i], &known), ValueError, "shape ", shape_str(shape),
               " is invalid for input of size ", numel);
    }
  }
  if (infer >= 0) {
    PE_CHECK(known != 0 && numel % known == 0, ValueError, "shape ", shape_str(shape),
             " is invalid for input of size ", numel);
    out[infer] = numel / known;
  }
  PE_CHECK(shape_numel(out) == numel, ValueError, "shape ", shape_str(shape), " is invalid for input of size ",
           numel);
  return out;
}

Tensor as_strided(const Tensor& t, const Shape& shape, const Shape& strides, int64_t offset) {
  PE_CHECK(shape.size() == strides.size(), ValueError, "as_strided: shape ", shape_str(shape), " and strides ",
           shape_str(strides), " differ in length");
  PE_CHECK(offset >= 0, ValueError, "as_strided: negative storage offset ", offset);
  for (size_t i = 0; i < shape.size(); ++i)
    PE_CHECK(shape[i] >= 0 && strides[i] >= 0, ValueError, "as_strided: negative size or stride in shape ",
             shape_str(shape), " strides ", shape_str(strides));
  const ViewExtent e = view_extent(shape, strides, offset, "as_strided");
  int64_t capacity = static_cast<int64_t>(t.storage()->nbytes / t.itemsize());
  PE_CHECK(e.empty || e.hi < capacity, ValueError, "as_strided: view of shape ", shape_str(shape), " strides ",
           shape_str(strides), " offset ", offset, " reaches element ", e.hi, " but the storage holds ", capacity,
           " elements");
  return t.as_strided(shape, strides, offset);
}

// PyTorch's rule: a view exists when each group of old dims that maps onto a group of new dims
// is contiguous within itself.
std::optional<Shape> view_strides(const Tensor& t, const Shape& new_shape) {
  const Shape& old_shape = t.shape();
  const Shape& old_strides = t.strides();
  Shape new_strides(new_shape.size());
  if (t.numel() == 0 || old_shape.empty()) return contiguous_strides(new_shape);
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = static_cast<int64_t>(old_shape.size()) - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    if (tensor_d == 0 ||
        (old_shape[tensor_d - 1] != 1 && old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        new_strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (tensor_d > 0) {
        chunk_base_stride = old_strides[tensor_d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return new_strides;
}

Tensor view(const Tensor& t, const Shape& shape) {
  Shape s = infer_shape(shape, t.numel());
  auto strides = view_strides(t, s);
  PE_CHECK(strides.has_value(), RuntimeError, "view size ", shape_str(s),
           " is not compatible with input tensor's size ", shape_str(t.shape()), " and strides ",
           shape_str(t.strides()), "; use reshape() instead");
  return t.as_strided(s, *strides, t.offset());
}

Tensor reshape(const Tensor& t, const Shape& shape) {
  Shape s = infer_shape(shape, t.numel());
  if (auto strides = view_strides(t, s)) return t.as_strided(s, *strides, t.offset());
  Tensor c = contiguous(t);
  return c.as_strided(s, contiguous_strides(s), c.offset());
}

Tensor permute(const Tensor& t, const Shape& dims) {
  int64_t n = t.ndim();
  PE_CHECK(static_cast<int64_t>(dims.size()) == n, ValueError, "permute: expected ", n,
           " dims for a tensor of shape ", shape_str(t.shape()), ", got ", shape_str(dims));
  Shape shape(n), strides(n);
  std::vector<bool> seen(n, false);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n);
    PE_CHECK(!seen[d], ValueError, "permute: dim ", d, " repeats in ", shape_str(dims));
    seen[d] = true;
    shape[i] = t.shape()[d];
    strides[i] = t.strides()[d];
  }
  return t.as_strided(shape, strides, t.offset());
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  d0 = wrap_dim(d0, t.ndim());  // checked first: a 0-d tensor takes only 0 and -1, as in PyTorch
  d1 = wrap_dim(d1, t.ndim());
  if (t.ndim() == 0) return t;
  Shape shape = t.shape(), strides = t.strides();
  std::swap(shape[d0], shape[d1]);
  std::swap(strides[d0], strides[d1]);
  return t.as_strided(shape, strides, t.offset());
}

Tensor expand(const Tensor& t, const Shape& shape) {
  int64_t n = static_cast<int64_t>(shape.size());
  PE_CHECK(n >= t.ndim(), ValueError, "expand: the target shape ", shape_str(shape),
           " has fewer dimensions than the tensor's shape ", shape_str(t.shape()));
  Shape out(n), strides(n);
  int64_t lead = n - t.ndim();
  for (int64_t i = 0; i < n; ++i) {
    if (i < lead) {
      PE_CHECK(shape[i] >= 0, ValueError, "expand: the expanded size of the tensor (", shape[i],
               ") isn't allowed in a leading, non-existing dimension ", i, " of ", shape_str(shape));
      out[i] = shape[i];
      strides[i] = 0;
      continue;
    }
    int64_t have = t.shape()[i - lead];
    PE_CHECK(shape[i] >= -1, ValueError, "expand: the expanded size of the tensor (", shape[i],
             ") must be non-negative or -1 (keep the size), at dimension ", i, " of ", shape_str(shape));
    int64_t want = shape[i] == -1 ? have : shape[i];
    PE_CHECK(have == want || have == 1, ValueError, "expand: cannot expand shape ", shape_str(t.shape()), " to ",
             shape_str(shape), " (size ", have, " vs ", want, " at dimension ", i, ")");
    out[i] = want;
    strides[i] = have == want ? t.strides()[i - lead] : 0;
  }
  checked_numel(out, "expand");  // (a stride-0 view may have more elements than memory, not than int64)
  return t.as_strided(out, strides, t.offset());
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.ndim() + 1);
  Shape shape = t.shape(), strides = t.strides();
  int64_t stride = dim < t.ndim() ? checked_mul(shape[dim], strides[dim], "unsqueeze: size * stride") : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  return t.as_strided(shape, strides, t.offset());
}

Tensor squeeze(const Tensor& t, std::optional<int64_t> dim) {
  Shape shape, strides;
  int64_t only = dim ? wrap_dim(*dim, t.ndim()) : -1;
  for (int64_t i = 0; i < t.ndim(); ++i) {
    bool drop = t.shape()[i] == 1 && (only < 0 || i == only);
    if (drop) continue;
    shape.push_back(t.shape()[i]);
    strides.push_back(t.strides()[i]);
  }
  return t.as_strided(shape, strides, t.offset());
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.ndim() == 0) return reshape(t, {1});
  start_dim = wrap_dim(start_dim, t.ndim());
  end_dim = wrap_dim(end_dim, t.ndim());
  PE_CHECK(start_dim <= end_dim, ValueError, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape(t.shape().begin(), t.shape().begin() + start_dim);
  shape.push_back(checked_numel(Shape(t.shape().begin() + start_dim, t.shape().begin() + end_dim + 1), "flatten"));
  shape.insert(shape.end(), t.shape().begin() + end_dim + 1, t.shape().end());
  return reshape(t, shape);
}

Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> stop,
             int64_t step) {
  PE_CHECK(t.ndim() > 0, IndexError, "cannot slice a 0-d tensor");
  dim = wrap_dim(dim, t.ndim());
  PE_CHECK(step > 0, ValueError, "slice step must be positive, got ", step);
  int64_t n = t.shape()[dim];
  auto clampi = [n](std::optional<int64_t> v, int64_t dflt) {
    if (!v) return dflt;
    int64_t x = *v < 0 ? *v + n : *v;
    return std::min(std::max<int64_t>(x, 0), n);
  };
  int64_t b = clampi(start, 0), e = clampi(stop, n);
  int64_t len = e > b ? 1 + (e - b - 1) / step : 0;  // (e - b + step - 1) / step could wrap for a huge step
  Shape shape = t.shape(), strides = t.strides();
  shape[dim] = len;
  // With one element or none the stride is never used: keep it rather than multiply a huge step.
  if (len > 1) strides[dim] = checked_mul(strides[dim], step, "slice: stride * step");
  return t.as_strided(shape, strides, t.offset() + (len > 0 ? b * t.strides()[dim] : 0));
}

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  PE_CHECK(t.ndim() > 0, IndexError, "invalid index of a 0-dim tensor");
  dim = wrap_dim(dim, t.ndim());
  int64_t n = t.shape()[dim];
  PE_CHECK(index >= -n && index < n, IndexError, "index ", index, " is out of bounds for dimension ", dim,
           " with size ", n);
  if (index < 0) index += n;
  Shape shape = t.shape(), strides = t.strides();
  int64_t offset = t.offset() + index * strides[dim];
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  return t.as_strided(shape, strides, offset);
}

Tensor diagonal(const Tensor& t, int64_t offset, int64_t dim1, int64_t dim2) {
  dim1 = wrap_dim(dim1, t.ndim());
  dim2 = wrap_dim(dim2, t.ndim());
  PE_CHECK(dim1 != dim2, ValueError, "diagonal: dim1 and dim2 must differ, both are ", dim1);
  int64_t len, start = t.offset();
  if (offset >= 0) {
    len = std::max<int64_t>(std::min(t.shape()[dim1], t.shape()[dim2] - offset), 0);
    if (len > 0) start += offset * t.strides()[dim2];
  } else {
    len = std::max<int64_t>(std::min(t.shape()[dim1] + offset, t.shape()[dim2]), 0);
    if (len > 0) start -= offset * t.strides()[dim1];
  }
  Shape shape, strides;
  for (int64_t i = 0; i < t.ndim(); ++i) {
    if (i == dim1 || i == dim2) continue;
    shape.push_back(t.shape()[i]);
    strides.push_back(t.strides()[i]);
  }
  shape.push_back(len);
  strides.push_back(t.strides()[dim1] + t.strides()[dim2]);
  return t.as_strided(shape, strides, start);
}

Tensor view_dtype(const Tensor& t, DType dtype) {
  const int64_t from = static_cast<int64_t>(t.itemsize()), to = static_cast<int64_t>(itemsize(dtype));
  if (from == to) return Tensor(t.storage(), t.shape(), t.strides(), t.offset(), dtype);
  const char* what = from > to ? "larger" : "smaller";
  PE_CHECK(t.ndim() > 0, RuntimeError, "view(dtype): a 0-d tensor of ", dtype_name(t.dtype()),
           " cannot be viewed as ", dtype_name(dtype), ", whose element size differs");
  PE_CHECK(t.strides().back() == 1, RuntimeError, "view(dtype): the last dim must have stride 1 to view ",
           dtype_name(t.dtype()), " as ", dtype_name(dtype), " (a ", what, " element), got stride ",
           t.strides().back());
  Shape shape = t.shape(), strides = t.strides();
  int64_t offset = t.offset();
  if (from > to) {  // each element becomes from/to narrower ones
    const int64_t k = from / to;
    shape.back() *= k;
    for (size_t d = 0; d + 1 < strides.size(); ++d) strides[d] *= k;
    offset *= k;
  } else {  // every to/from elements become one wider one
    const int64_t k = to / from;
    PE_CHECK(shape.back() % k == 0, RuntimeError, "view(dtype): the last dim's size ", shape.back(),
             " must be divisible by ", k, " to view ", dtype_name(t.dtype()), " as ", dtype_name(dtype));
    PE_CHECK(offset % k == 0, RuntimeError, "view(dtype): the storage offset ", offset, " must be divisible by ", k,
             " to view ", dtype_name(t.dtype()), " as ", dtype_name(dtype));
    for (size_t d = 0; d + 1 < strides.size(); ++d)
      PE_CHECK(strides[d] % k == 0, RuntimeError, "view(dtype): the stride ", strides[d], " of dim ", d,
               " must be divisible by ", k, " to view ", dtype_name(t.dtype()), " as ", dtype_name(dtype));
    shape.back() /= k;
    for (size_t d = 0; d + 1 < strides.size(); ++d) strides[d] /= k;
    offset /= k;
  }
  return Tensor(t.storage(), shape, strides, offset, dtype);
}

}  // namespace pe::ops

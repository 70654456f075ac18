#include "ops/sort.h"

#include <algorithm>

#include "ops/copy.h"
#include "ops/reduce.h"

namespace pe::ops {
namespace {

// The ROWS geometry of x (input) and out along dim d (see ops/sort.h).
void fill_rows(TopkArgs& a, const Tensor& x, const Tensor& out, int64_t d) {
  a.dtype = x.dtype();
  a.in = x.raw_data();
  a.out = static_cast<int64_t*>(out.raw_data());
  for (int64_t i = 0; i < x.ndim(); ++i) {
    if (i == d) {
      a.in_stride = x.strides()[i];
      a.out_stride = out.strides()[i];
    } else {
      a.row_shape.push_back(x.shape()[i]);
      a.in_row_strides.push_back(x.strides()[i]);
      a.out_row_strides.push_back(out.strides()[i]);
    }
  }
}

// The kernels' dtypes; Python ranks bool and the storage dtypes through int64 / float32.
void check_sortable(const char* op, const Tensor& x) {
  const DType t = x.dtype();
  PE_CHECK(t == DType::Float32 || t == DType::Float64 || t == DType::Int64, RuntimeError, op,
           "(): expected a float32, float64 or int64 input, got ", dtype_name(t));
}

// x with dim d moved last (a view): its rows are then the innermost dim.
Tensor dim_last(const Tensor& x, int64_t d) {
  Shape shape, strides;
  for (int64_t i = 0; i < x.ndim(); ++i)
    if (i != d) shape.push_back(x.shape()[i]), strides.push_back(x.strides()[i]);
  shape.push_back(x.ndim() == 0 ? 1 : x.shape()[d]);
  strides.push_back(x.ndim() == 0 ? 1 : x.strides()[d]);
  return x.as_strided(shape, strides, x.offset());
}

int64_t scalar_of(const Tensor& t) {  // a one-element int64 tensor, read on the host
  return *to_device(contiguous(t), Device{}).data<int64_t>();
}

}  // namespace

Tensor topk_indices(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  check_sortable("topk", x);
  const int64_t nd = std::max<int64_t>(x.ndim(), 1);
  const int64_t d = wrap_dim(dim, nd);
  const int64_t n = x.ndim() == 0 ? 1 : x.shape()[d];
  PE_CHECK(k >= 0 && k <= n, RuntimeError, "topk(): selected index k out of range: k=", k, " for dimension ", d,
           " of size ", n,
           " (input shape ", shape_str(x.shape()), ")");
  Shape out_shape = x.shape();
  if (x.ndim() > 0) out_shape[d] = k;
  Tensor out = Tensor::empty(out_shape, DType::Int64, x.device());
  if (out.numel() == 0) return out;
  TopkArgs a;
  a.largest = largest;
  a.n = n;
  a.k = k;
  fill_rows(a, x, out, d);
  topk_kernel(x.device(), a);
  return out;
}

Tensor sort_indices(const Tensor& x, int64_t dim, bool descending) {
  check_sortable("sort", x);
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.ndim(), 1));
  Tensor out = Tensor::empty(x.shape(), DType::Int64, x.device());
  if (out.numel() == 0) return out;
  TopkArgs a;
  a.largest = descending;
  a.n = a.k = x.ndim() == 0 ? 1 : x.shape()[d];
  fill_rows(a, x, out, d);
  sort_kernel(x.device(), a);
  return out;
}

Tensor median_indices(const Tensor& x, int64_t dim, bool ignore_nan) {
  const char* name = ignore_nan ? "nanmedian" : "median";
  check_sortable(name, x);
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.ndim(), 1));
  const int64_t n = x.ndim() == 0 ? 1 : x.shape()[d];
  Shape out_shape = x.shape();
  if (x.ndim() > 0) out_shape[d] = 1;
  Tensor out = Tensor::empty(out_shape, DType::Int64, x.device());
  if (out.numel() == 0) return out;
  PE_CHECK(n > 0, IndexError, name, "(): Expected reduction dim ", d, " to have non-zero size (input shape ",
           shape_str(x.shape()), ")");
  MedianArgs a;
  a.dtype = x.dtype();
  a.ignore_nan = ignore_nan;
  a.n = n;
  a.in = x.raw_data();
  a.out = out.data<int64_t>();
  for (int64_t i = 0; i < x.ndim(); ++i) {
    if (i == d) {
      a.in_stride = x.strides()[i];
    } else {
      a.row_shape.push_back(x.shape()[i]);
      a.in_row_strides.push_back(x.strides()[i]);
      a.out_row_strides.push_back(out.strides()[i]);
    }
  }
  median_kernel(x.device(), a);
  return out;
}

Tensor mode_indices(const Tensor& x, int64_t dim) {
  check_sortable("mode", x);
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.ndim(), 1));
  const int64_t n = x.ndim() == 0 ? 1 : x.shape()[d];
  Shape out_shape = x.shape();
  if (x.ndim() > 0) out_shape[d] = 1;
  Tensor out = Tensor::empty(out_shape, DType::Int64, x.device());
  if (out.numel() == 0) return out;
  PE_CHECK(n > 0, IndexError, "mode(): Expected reduction dim ", d, " to have non-zero size (input shape ",
           shape_str(x.shape()), ")");
  const Tensor order = sort_indices(dim_last(x, d), -1, false);  // contiguous rows of n
  ModeArgs a;
  a.dtype = x.dtype();
  a.n = n;
  a.in = x.raw_data();
  a.order = order.data<int64_t>();
  a.out = out.data<int64_t>();
  for (int64_t i = 0; i < x.ndim(); ++i) {
    if (i == d) {
      a.in_stride = x.strides()[i];
    } else {
      a.row_shape.push_back(x.shape()[i]);
      a.in_row_strides.push_back(x.strides()[i]);
      a.out_row_strides.push_back(out.strides()[i]);
    }
  }
  mode_kernel(x.device(), a);
  return out;
}

Tensor searchsorted(const Tensor& sorted, const Tensor& values, bool right, const std::optional<Tensor>& sorter) {
  check_same_device("searchsorted()", sorted, "sorted_sequence", values, "input");
  PE_CHECK(sorted.dtype() == values.dtype(), TypeError,
           "searchsorted(): expected sorted_sequence and input of one dtype, got ", dtype_name(sorted.dtype()),
           " and ", dtype_name(values.dtype()));
  check_sortable("searchsorted", sorted);
  PE_CHECK(sorted.ndim() >= 1, RuntimeError,
           "searchsorted(): boundaries tensor should have positive dimension, but got a 0-d tensor");
  SearchArgs a;
  a.dtype = sorted.dtype();
  a.right = right;
  a.n = sorted.shape().back();
  if (sorted.ndim() == 1) {
    a.rows = 1;
    a.m = values.numel();
  } else {
    const Shape lead_s(sorted.shape().begin(), sorted.shape().end() - 1);
    bool match = values.ndim() == sorted.ndim();
    if (match) match = Shape(values.shape().begin(), values.shape().end() - 1) == lead_s;
    PE_CHECK(match, RuntimeError,
             "searchsorted(): boundaries tensor should be 1 dimension or the first N-1 dimensions of boundaries "
             "tensor and input value tensor must match, but we got boundaries tensor ",
             shape_str(sorted.shape()), " and input value tensor ", shape_str(values.shape()));
    a.rows = shape_numel(lead_s);
    a.m = values.shape().back();
  }
  Tensor sorter_c;
  if (sorter) {
    check_same_device("searchsorted()", sorted, "sorted_sequence", *sorter, "sorter");
    PE_CHECK(sorter->dtype() == DType::Int64, TypeError, "searchsorted(): sorter must be an int64 tensor, got ",
             dtype_name(sorter->dtype()));
    PE_CHECK(sorter->shape() == sorted.shape(), RuntimeError,
             "searchsorted(): boundary and sorter must have the same size, but got boundary tensor ",
             shape_str(sorted.shape()), " and sorter tensor ", shape_str(sorter->shape()));
    if (sorter->numel() > 0) {
      const int64_t lo = scalar_of(amin(*sorter, std::nullopt, false));
      const int64_t hi = scalar_of(amax(*sorter, std::nullopt, false));
      PE_CHECK(lo >= 0 && hi < a.n, RuntimeError, "searchsorted(): sorter index out of range: got values in [", lo,
               ", ", hi, "] for a last dimension of size ", a.n);
    }
    sorter_c = contiguous(*sorter);
    a.sorter = sorter_c.data<int64_t>();
  }
  Tensor out = Tensor::empty(values.shape(), DType::Int64, values.device());
  if (out.numel() == 0) return out;
  const Tensor b = contiguous(sorted), v = contiguous(values);
  a.boundaries = b.raw_data();
  a.values = v.raw_data();
  a.out = out.data<int64_t>();
  searchsorted_kernel(values.device(), a);
  return out;
}

}  // namespace pe::ops

#include "ops/sort.h"

#include <algorithm>

namespace pe::ops {

Tensor topk_indices(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  PE_CHECK(x.dtype() != DType::Bool, RuntimeError, "topk(): expected a float32, float64 or int64 input, got bool");
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
  a.dtype = x.dtype();
  a.largest = largest;
  a.n = n;
  a.k = k;
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
  topk_kernel(x.device(), a);
  return out;
}

}  // namespace pe::ops

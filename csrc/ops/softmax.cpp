#include "ops/softmax.h"

#include <algorithm>


namespace pe::ops {

namespace {

void check_input(const Tensor& t, const char* name, const char* what) {
  PE_CHECK(is_floating(t.dtype()), TypeError, name, "(): expected a floating ", what,
           " (float32 or float64), got ", dtype_name(t.dtype()));
}

// Split `t` into rows along `dim` (already wrapped): the kept dims' strides and the dim's stride.
SoftmaxOperand operand(const Tensor& t, int64_t dim) {
  SoftmaxOperand o;
  o.data = t.raw_data();
  for (int64_t d = 0; d < t.ndim(); ++d) {
    if (d == dim)
      o.stride = t.strides()[d];
    else
      o.row_strides.push_back(t.strides()[d]);
  }
  return o;
}

// The shared set-up: rows of `like` along dim, output allocated contiguous with its shape.
SoftmaxArgs make_args(const Tensor& like, int64_t dim, const Tensor& out, bool log) {
  SoftmaxArgs a;
  a.dtype = like.dtype();
  a.log = log;
  a.n = like.ndim() == 0 ? 1 : like.shape()[dim];
  for (int64_t d = 0; d < like.ndim(); ++d)
    if (d != dim) a.row_shape.push_back(like.shape()[d]);
  SoftmaxOperand o = operand(out, dim);
  a.out = out.raw_data();
  a.out_row_strides = o.row_strides;
  a.out_stride = o.stride;
  return a;
}

Tensor forward(const Tensor& x, int64_t dim, bool log, const char* name) {
  check_input(x, name, "input");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(x.ndim(), 1));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  SoftmaxArgs a = make_args(x, d, out, log);
  a.in = operand(x, d);
  softmax_forward_kernel(x.device(), a);
  return out;
}

Tensor backward(const Tensor& grad, const Tensor& y, int64_t dim, bool log, const char* name) {
  check_input(y, name, "output");
  check_input(grad, name, "gradient");
  PE_CHECK(grad.shape() == y.shape(), ValueError, name, "(): gradient shape ", shape_str(grad.shape()),
           " does not match output shape ", shape_str(y.shape()));
  PE_CHECK(grad.dtype() == y.dtype(), TypeError, name, "(): gradient dtype ", dtype_name(grad.dtype()),
           " does not match output dtype ", dtype_name(y.dtype()));
  check_same_device(name, grad, "gradient", y, "output");
  const int64_t d = wrap_dim(dim, std::max<int64_t>(y.ndim(), 1));
  Tensor out = Tensor::empty(y.shape(), y.dtype(), y.device());
  if (out.numel() == 0) return out;
  SoftmaxArgs a = make_args(y, d, out, log);
  a.in = operand(y, d);
  a.grad = operand(grad, d);
  softmax_backward_kernel(y.device(), a);
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return forward(x, dim, false, "softmax"); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return forward(x, dim, true, "log_softmax"); }
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return backward(grad, y, dim, false, "softmax_backward");
}
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim) {
  return backward(grad, y, dim, true, "log_softmax_backward");
}

}  // namespace pe::ops

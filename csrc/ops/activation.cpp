#include "ops/activation.h"

#include <string>

namespace pe::ops {

act::ActivationOp activation_op(const std::string& name) {
  std::string known;
  for (int i = 0; i < static_cast<int>(act::ActivationOp::kCount); ++i) {
    const auto op = static_cast<act::ActivationOp>(i);
    if (name == act::op_name(op)) return op;
    known += (i ? ", " : "") + std::string(act::op_name(op));
  }
  throw ValueError(str("activation: unknown op '", name, "', expected one of ", known));
}

namespace {

void check_input(const Tensor& t, const char* name, const char* what) {
  PE_CHECK(is_floating(t.dtype()), TypeError, name, "(): expected a floating ", what,
           " (float32 or float64), got ", dtype_name(t.dtype()));
}

ActivationArgs make_args(act::ActivationOp op, const Tensor& out, const Tensor& x, double a, double b) {
  ActivationArgs args;
  args.op = op;
  args.dtype = x.dtype();
  args.shape = x.shape();
  args.a = a;
  args.b = b;
  args.x = {x.raw_data(), x.strides()};
  args.out = out.raw_data();
  args.out_strides = out.strides();
  return args;
}

}  // namespace

Tensor activation(act::ActivationOp op, const Tensor& x, double a, double b) {
  const char* name = act::op_name(op);
  check_input(x, name, "input");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  activation_forward_kernel(x.device(), make_args(op, out, x, a, b));
  return out;
}

Tensor activation_backward(act::ActivationOp op, const Tensor& grad, const Tensor& x, double a, double b) {
  const std::string name = std::string(act::op_name(op)) + "_backward";
  check_input(x, name.c_str(), "input");
  check_input(grad, name.c_str(), "gradient");
  PE_CHECK(grad.shape() == x.shape(), ValueError, name, "(): gradient shape ", shape_str(grad.shape()),
           " does not match input shape ", shape_str(x.shape()));
  PE_CHECK(grad.dtype() == x.dtype(), TypeError, name, "(): gradient dtype ", dtype_name(grad.dtype()),
           " does not match input dtype ", dtype_name(x.dtype()));
  check_same_device(name.c_str(), grad, "gradient", x, "input");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  ActivationArgs args = make_args(op, out, x, a, b);
  args.grad = {grad.raw_data(), grad.strides()};
  activation_backward_kernel(x.device(), args);
  return out;
}

}  // namespace pe::ops

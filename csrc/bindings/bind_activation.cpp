// The parametrised activations (math/activation_math.h): forward and fused backward by op name.
#include "bindings/bind.h"
#include "ops/activation.h"

namespace pe::bind {

void bind_activation(py::module_& m) {
  m.def(
      "activation",
      [](const std::string& op, const Tensor& x, double a, double b) {
        return ops::activation(ops::activation_op(op), x, a, b);
      },
      py::arg("op"), py::arg("x"), py::arg("a") = 0.0, py::arg("b") = 0.0, release_gil(),
      "y = op(x; a, b) for op in hardswish, hardsigmoid, mish, softsign, tanhshrink, celu (a=alpha), selu, "
      "logsigmoid, hardtanh (a=min, b=max), softshrink / hardshrink (a=lambd); float32/float64, result contiguous");
  m.def(
      "activation_backward",
      [](const std::string& op, const Tensor& grad, const Tensor& x, double a, double b) {
        return ops::activation_backward(ops::activation_op(op), grad, x, a, b);
      },
      py::arg("op"), py::arg("grad"), py::arg("x"), py::arg("a") = 0.0, py::arg("b") = 0.0, release_gil(),
      "dL/dx of activation(op, x, a, b) from dL/dy and the forward input x");
}

}  // namespace pe::bind

// The softmax family: softmax / log-softmax (forward and fused backward along any dim).
#include "bindings/bind.h"
#include "ops/softmax.h"

namespace pe::bind {

void bind_softmax(py::module_& m) {
  m.def("softmax", &ops::softmax, py::arg("x"), py::arg("dim"), release_gil(),
        "numerically stable softmax along dim (float32/float64, any strides; result contiguous)");
  m.def("log_softmax", &ops::log_softmax, py::arg("x"), py::arg("dim"), release_gil(),
        "numerically stable log-softmax along dim");
  m.def("softmax_backward", &ops::softmax_backward, py::arg("grad"), py::arg("y"), py::arg("dim"), release_gil(),
        "dL/dx of softmax from dL/dy and the forward output y: y * (grad - sum(grad * y, dim))");
  m.def("log_softmax_backward", &ops::log_softmax_backward, py::arg("grad"), py::arg("y"), py::arg("dim"),
        release_gil(), "dL/dx of log_softmax from dL/dy and the forward output y: grad - exp(y) * sum(grad, dim)");
}

}  // namespace pe::bind

// The conv family: conv2d and conv_transpose2d, forward and backward (1-D convolutions are 2-D
// ones on an H=1 view, made by pyengine/nn/_conv_fns.py, which passes one_d=True so that errors
// name the 1-D op and the user's shapes). Geometry arguments are lists of ints the Python layer
// has already normalised (see csrc/README.md).
#include "bindings/bind.h"
#include "ops/conv.h"

namespace pe::bind {

void bind_conv(py::module_& m) {
  m.def("conv2d", &ops::conv2d, py::arg("x"), py::arg("weight"), py::arg("bias"), py::arg("stride"),
        py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("one_d") = false, release_gil(),
        "2-D cross-correlation: x (N, C, H, W), weight (K, C/groups, kH, kW), bias (K,) or None; stride and "
        "dilation [h, w]; padding [h, w] or [top, bottom, left, right]");
  m.def("conv2d_backward", &ops::conv2d_backward, py::arg("grad_output"), py::arg("x"), py::arg("weight"),
        py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"), py::arg("output_mask"),
        py::arg("one_d") = false, release_gil(), "(grad_input, grad_weight, grad_bias) of conv2d; output_mask [bool x3] picks which (None otherwise)");
  m.def("conv_transpose2d", &ops::conv_transpose2d, py::arg("x"), py::arg("weight"), py::arg("bias"),
        py::arg("stride"), py::arg("padding"), py::arg("output_padding"), py::arg("groups"), py::arg("dilation"),
        py::arg("one_d") = false, release_gil(), "transposed 2-D convolution: x (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW)");
  m.def("conv_transpose2d_backward", &ops::conv_transpose2d_backward, py::arg("grad_output"), py::arg("x"),
        py::arg("weight"), py::arg("stride"), py::arg("padding"), py::arg("output_padding"), py::arg("groups"),
        py::arg("dilation"), py::arg("output_mask"), py::arg("one_d") = false, release_gil(),
        "(grad_input, grad_weight, grad_bias) of conv_transpose2d");
}

}  // namespace pe::bind

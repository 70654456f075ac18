// The upsample family: nearest / (bi)linear interpolation (F.interpolate), forward and backward.
#include "bindings/bind.h"
#include "ops/upsample.h"

namespace pe::bind {

void bind_upsample(py::module_& m) {
  m.def("upsample", &ops::upsample, py::arg("x"), py::arg("mode"), py::arg("output_size"), py::arg("scales"),
        py::arg("align_corners"), release_gil(),
        "nearest ('nearest') or (bi)linear ('linear') upsampling of an (N, C, L) or (N, C, H, W) input to "
        "output_size, or by scales (exactly one non-empty); PyTorch's index arithmetic");
  m.def("upsample_backward", &ops::upsample_backward, py::arg("grad"), py::arg("input_shape"), py::arg("mode"),
        py::arg("output_size"), py::arg("scales"), py::arg("align_corners"), release_gil(),
        "dL/dx of upsample from dL/dy (the same mode / output_size / scales / align_corners as the forward)");
}

}  // namespace pe::bind

// The conv family: convolution kernels (filled in by the conv work; empty until then).
#include "bindings/bind.h"

namespace pe::bind {

void bind_conv(py::module_& m) { (void)m; }

}  // namespace pe::bind

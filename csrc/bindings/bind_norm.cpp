// The norm family: normalization kernels (filled in by the norm work; empty until then).
#include "bindings/bind.h"

namespace pe::bind {

void bind_norm(py::module_& m) { (void)m; }

}  // namespace pe::bind

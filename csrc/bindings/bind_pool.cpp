// The pool family: pooling kernels (filled in by the pool work; empty until then).
#include "bindings/bind.h"

namespace pe::bind {

void bind_pool(py::module_& m) { (void)m; }

}  // namespace pe::bind

#include "bindings/bind.h"

namespace pe::bind {

void bind_cuda(py::module_& m) { (void)m; }

}  // namespace pe::bind

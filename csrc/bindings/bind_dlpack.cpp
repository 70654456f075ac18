#include "bindings/bind.h"

namespace pe::bind {

void bind_dlpack(py::module_& m) { (void)m; }

}  // namespace pe::bind

#include "bindings/bind.h"

namespace pe::bind {

void bind_nn(py::module_& m) { (void)m; }

}  // namespace pe::bind

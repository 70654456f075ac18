#include "bindings/bind.h"

namespace pe::bind {

void bind_optim(py::module_& m) { (void)m; }

}  // namespace pe::bind

// The sort family: topk (indices; Python gathers the values).
#include "bindings/bind.h"
#include "ops/sort.h"

namespace pe::bind {

void bind_sort(py::module_& m) {
  m.def("topk_indices", &ops::topk_indices, py::arg("x"), py::arg("k"), py::arg("dim"), py::arg("largest"),
        release_gil(),
        "int64 indices of the k largest (largest=True) or smallest elements along dim, in rank order "
        "(NaN above every number, ties by ascending index)");
}

}  // namespace pe::bind

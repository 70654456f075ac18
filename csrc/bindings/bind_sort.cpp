// The sort family: topk, sort, median, mode, searchsorted (indices; Python gathers the values).
#include "bindings/bind.h"
#include "ops/sort.h"

namespace pe::bind {

void bind_sort(py::module_& m) {
  m.def("topk_indices", &ops::topk_indices, py::arg("x"), py::arg("k"), py::arg("dim"), py::arg("largest"),
        release_gil(),
        "int64 indices of the k largest (largest=True) or smallest elements along dim, in rank order "
        "(NaN above every number, ties by ascending index)");
  m.def("sort_indices", &ops::sort_indices, py::arg("x"), py::arg("dim"), py::arg("descending"), release_gil(),
        "int64 indices that sort x along dim (stable; NaN last ascending, first descending)");
  m.def("median_indices", &ops::median_indices, py::arg("x"), py::arg("dim"), py::arg("ignore_nan"), release_gil(),
        "int64 index of each row's lower median (median: the first NaN of a row with one; nanmedian: of the "
        "numbers), keepdim shape");
  m.def("mode_indices", &ops::mode_indices, py::arg("x"), py::arg("dim"), release_gil(),
        "int64 index of the last occurrence of each row's most frequent value (ties: the smallest), keepdim shape");
  m.def("searchsorted", &ops::searchsorted, py::arg("sorted_sequence"), py::arg("values"), py::arg("right"),
        py::arg("sorter") = std::nullopt, release_gil(),
        "int64 insertion points of values in the rows of sorted_sequence (left or right side)");
}

}  // namespace pe::bind

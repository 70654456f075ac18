// Reductions: sum, mean, prod, amax/amin, max_dim/min_dim, argmax/argmin, var/std,
// logsumexp, norm, all/any.
#include "bindings/bind.h"
#include "ops/reduce.h"

namespace pe::bind {

namespace {

// dims: None, one int (anything with __index__, e.g. a NumPy integer), or a sequence of ints.
ops::Dims parse_dims(const py::object& dims) {
  if (dims.is_none()) return std::nullopt;
  if (PyIndex_Check(dims.ptr())) return std::vector<int64_t>{dims.cast<int64_t>()};
  try {
    return dims.cast<std::vector<int64_t>>();
  } catch (const py::cast_error&) {
    throw TypeError(str("dims: expected None, an int or a list of ints, got ",
                        std::string(py::str(py::type::of(dims).attr("__name__")))));
  }
}

std::optional<DType> parse_optional_dtype(const py::object& dtype) {
  if (dtype.is_none()) return std::nullopt;
  return parse_dtype(dtype);
}

// f(x, dims, keepdim): the dims-only reductions.
template <class F>
void def_dims_reduction(py::module_& m, const char* name, F f) {
  m.def(name, [f](const Tensor& x, const py::object& dims, bool keepdim) {
    ops::Dims d = parse_dims(dims);
    ReleaseGil nogil;
    return f(x, d, keepdim);
  }, py::arg("x"), py::arg("dims") = py::none(), py::arg("keepdim") = false);
}

// f(x, dims, keepdim, dtype): sum, mean, prod.
template <class F>
void def_typed_reduction(py::module_& m, const char* name, F f) {
  m.def(name, [f](const Tensor& x, const py::object& dims, bool keepdim, const py::object& dtype) {
    ops::Dims d = parse_dims(dims);
    std::optional<DType> dt = parse_optional_dtype(dtype);
    ReleaseGil nogil;
    return f(x, d, keepdim, dt);
  }, py::arg("x"), py::arg("dims") = py::none(), py::arg("keepdim") = false, py::arg("dtype") = py::none());
}

}  // namespace

void bind_reduce(py::module_& m) {
  def_typed_reduction(m, "sum", &ops::sum);
  def_typed_reduction(m, "mean", &ops::mean);
  def_typed_reduction(m, "prod", &ops::prod);
  def_dims_reduction(m, "amax", &ops::amax);
  def_dims_reduction(m, "amin", &ops::amin);
  def_dims_reduction(m, "logsumexp", &ops::logsumexp);
  def_dims_reduction(m, "all", &ops::all);
  def_dims_reduction(m, "any", &ops::any);

  m.def("max_dim", &ops::max_dim, py::arg("x"), py::arg("dim"), py::arg("keepdim") = false, release_gil());
  m.def("min_dim", &ops::min_dim, py::arg("x"), py::arg("dim"), py::arg("keepdim") = false, release_gil());
  m.def("argmax", &ops::argmax, py::arg("x"), py::arg("dim") = py::none(), py::arg("keepdim") = false,
        release_gil());
  m.def("argmin", &ops::argmin, py::arg("x"), py::arg("dim") = py::none(), py::arg("keepdim") = false,
        release_gil());

  for (auto [name, f] : {std::pair{"var", &ops::var}, std::pair{"std", &ops::std}}) {
    m.def(name, [f = f](const Tensor& x, const py::object& dims, double correction, bool keepdim) {
      ops::Dims d = parse_dims(dims);
      ReleaseGil nogil;
      return f(x, d, correction, keepdim);
    }, py::arg("x"), py::arg("dims") = py::none(), py::arg("correction") = 1.0, py::arg("keepdim") = false);
  }
  m.def("norm", [](const Tensor& x, double p, const py::object& dims, bool keepdim) {
    ops::Dims d = parse_dims(dims);
    ReleaseGil nogil;
    return ops::norm(x, p, d, keepdim);
  }, py::arg("x"), py::arg("p") = 2.0, py::arg("dims") = py::none(), py::arg("keepdim") = false);
}

}  // namespace pe::bind

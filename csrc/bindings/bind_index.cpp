// Indexing, joining and structured creation: cat, gather, scatter_add, index_select,
// index_take / index_put_ (advanced indexing), nonzero, tril/triu, one_hot, arange, linspace, eye.
#include "bindings/bind.h"
#include "ops/copy.h"
#include "ops/index.h"
#include "ops/view.h"

namespace pe::bind {

// A Python (or NumPy) number, in its own type (an int stays an exact int64).
static Scalar as_number(const char* op, const char* name, const py::object& v) {
  Scalar s;
  PE_CHECK(load_scalar(v, s), TypeError, op, ": expected a number for ", name, ", got ",
           std::string(py::str(py::type::of(v).attr("__name__"))));
  return s;
}

// index_put_ takes a tensor or a Python scalar as values (x[i] = 0.5); the scalar keeps its own
// type until it is converted to x's dtype (an int64 above 2**53 stays exact).
static Tensor values_tensor(const py::object& v, const Tensor& x) {
  if (py::isinstance<Tensor>(v)) return v.cast<Tensor>();
  return ops::full({}, as_number("index_put_", "values", v), x.dtype(), x.device());
}

void bind_index(py::module_& m) {
  m.def("cat", &ops::cat, py::arg("tensors"), py::arg("dim") = 0, release_gil());
  m.def("gather", &ops::gather, py::arg("x"), py::arg("dim"), py::arg("index"), release_gil());
  m.def("scatter_add", &ops::scatter_add, py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"),
        release_gil());
  m.def("scatter_add_", &ops::scatter_add_, py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"),
        release_gil());
  // scatter_(dim, index, src or value, reduce=None): a number is seen as a src of index's shape.
  auto scatter_src = [](const py::object& src, const Tensor& x, const Tensor& index) {
    if (py::isinstance<Tensor>(src)) return src.cast<Tensor>();
    return ops::expand(ops::full({}, as_number("scatter", "value", src), x.dtype(), x.device()), index.shape());
  };
  m.def(
      "scatter",
      [scatter_src](const Tensor& x, int64_t dim, const Tensor& index, const py::object& src,
                    const std::optional<std::string>& reduce) {
        Tensor s = scatter_src(src, x, index);
        ReleaseGil nogil;
        return ops::scatter(x, dim, index, s, reduce);
      },
      py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("reduce") = py::none());
  m.def(
      "scatter_",
      [scatter_src](const Tensor& x, int64_t dim, const Tensor& index, const py::object& src,
                    const std::optional<std::string>& reduce) {
        Tensor s = scatter_src(src, x, index);
        ReleaseGil nogil;
        return ops::scatter_(x, dim, index, s, reduce);
      },
      py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"), py::arg("reduce") = py::none());
  m.def("scatter_reduce", &ops::scatter_reduce, py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"),
        py::arg("reduce"), py::arg("include_self") = true, release_gil());
  m.def("scatter_reduce_", &ops::scatter_reduce_, py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("src"),
        py::arg("reduce"), py::arg("include_self") = true, release_gil());
  m.def("index_add", &ops::index_add, py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("source"),
        py::arg("alpha") = Scalar(int64_t{1}), release_gil());
  m.def("index_add_", &ops::index_add_, py::arg("x"), py::arg("dim"), py::arg("index"), py::arg("source"),
        py::arg("alpha") = Scalar(int64_t{1}), release_gil());
  m.def("index_select", &ops::index_select, py::arg("x"), py::arg("dim"), py::arg("index"), release_gil());
  m.def("index_take", &ops::index_take, py::arg("x"), py::arg("indices"), release_gil());
  m.def(
      "index_put_",
      [](const Tensor& x, const std::vector<Tensor>& indices, const py::object& values, bool accumulate) {
        Tensor v = values_tensor(values, x);
        ReleaseGil nogil;
        return ops::index_put_(x, indices, v, accumulate);
      },
      py::arg("x"), py::arg("indices"), py::arg("values"), py::arg("accumulate") = false);
  m.def("nonzero", &ops::nonzero, py::arg("x"), release_gil());
  m.def("tril", &ops::tril, py::arg("x"), py::arg("diagonal") = 0, release_gil());
  m.def("triu", &ops::triu, py::arg("x"), py::arg("diagonal") = 0, release_gil());
  m.def("one_hot", &ops::one_hot, py::arg("idx"), py::arg("num_classes") = -1, release_gil());

  // arange(end), arange(start, end), arange(start, end, step). dtype None: int64 when every
  // argument is an integer (int, bool, NumPy integer), else float32 (PyTorch's rule).
  m.def(
      "arange",
      [](const py::object& start, const py::object& end, const py::object& step, const py::object& dtype,
         const std::string& device) {
        Scalar a = as_number("arange", "start", end.is_none() ? py::int_(0) : start);
        Scalar b = as_number("arange", "end", end.is_none() ? start : end);
        Scalar s = as_number("arange", "step", step);
        DType dt = !dtype.is_none()                                             ? parse_dtype(dtype)
                   : (a.is_integral() && b.is_integral() && s.is_integral()) ? DType::Int64
                                                                              : DType::Float32;
        Device dev = Device::parse(device);
        ReleaseGil nogil;
        return ops::arange(a, b, s, dt, dev);
      },
      py::arg("start"), py::arg("end") = py::none(), py::arg("step") = 1, py::arg("dtype") = py::none(),
      py::arg("device") = "cpu");
  m.def(
      "linspace",
      [](const py::object& start, const py::object& end, int64_t steps, const py::object& dtype,
         const std::string& device) {
        double a = as_number("linspace", "start", start).to<double>();
        double b = as_number("linspace", "end", end).to<double>();
        DType dt = parse_dtype(dtype);
        Device dev = Device::parse(device);
        ReleaseGil nogil;
        return ops::linspace(a, b, steps, dt, dev);
      },
      py::arg("start"), py::arg("end"), py::arg("steps"), py::arg("dtype") = "float32", py::arg("device") = "cpu");
  m.def(
      "eye",
      [](int64_t n, std::optional<int64_t> m_, const py::object& dtype, const std::string& device) {
        DType dt = parse_dtype(dtype);
        Device dev = Device::parse(device);
        ReleaseGil nogil;
        return ops::eye(n, m_, dt, dev);
      },
      py::arg("n"), py::arg("m") = py::none(), py::arg("dtype") = "float32", py::arg("device") = "cpu");
}

}  // namespace pe::bind

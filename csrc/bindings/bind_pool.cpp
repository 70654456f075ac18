// The pool family: max / average / adaptive pooling, 1-D and 2-D, forward and backward.
// Window arguments take an int or a sequence of ints like PyTorch's; max pooling returns
// (output, indices or None).
#include "bindings/bind.h"
#include "ops/pool.h"

namespace pe::bind {

namespace {

// An int argument: anything with __index__ but a bool (True is no window size; PyTorch refuses it).
bool is_int(const py::handle& v) { return PyIndex_Check(v.ptr()) && !PyBool_Check(v.ptr()); }

// An int or a sequence of ints, as a list.
Shape int_list(const py::handle& v, const char* fn, const char* what) {
  if (is_int(v)) return {to_int64(v, fn, what)};
  if (py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v)) {
    Shape out;
    for (const py::handle& e : v.cast<py::sequence>()) {
      if (!is_int(e))
        throw TypeError(str(fn, ": ", what, " must be an int or a tuple of ints, got an element of type ",
                            std::string(py::str(py::type::of(e).attr("__name__")))));
      out.push_back(to_int64(e, fn, what));
    }
    return out;
  }
  throw TypeError(str(fn, ": ", what, " must be an int or a tuple of ints, got ",
                      std::string(py::str(py::type::of(v).attr("__name__")))));
}

// stride=None (or an empty tuple) means "the kernel size": an empty list.
Shape stride_list(const py::object& v, const char* fn) {
  return v.is_none() ? Shape{} : int_list(v, fn, "stride");
}

// Adaptive output sizes: an int, or one entry per pooled dim where None keeps that input dim's
// size (PyTorch's rule).
Shape output_size_list(const Tensor& x, const py::object& v, const char* fn, int spatial) {
  if (v.is_none())  // None keeps a dim only inside a tuple; alone it is no size (PyTorch refuses it)
    throw TypeError(str(fn, ": output_size must be an int or a tuple of ", spatial == 1 ? "one int" : "two ints",
                        " (entries may be None), got None"));
  std::vector<py::object> items;
  if (py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v)) {
    for (const py::handle& e : v.cast<py::sequence>()) items.push_back(py::reinterpret_borrow<py::object>(e));
    // A sequence names every pooled dim: (4,) for a 2-D pool is a mistake, not "4 in both".
    if (static_cast<int>(items.size()) != spatial)
      throw RuntimeError(str(fn, ": output_size must be a single int or a tuple of ",
                             spatial == 1 ? "one int" : "two ints", ", got ", std::string(py::str(v))));
  } else {
    items.push_back(v);
  }
  Shape out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].is_none()) {
      const int64_t d = x.ndim() - spatial + static_cast<int64_t>(i);
      if (static_cast<int>(items.size()) != spatial || d < 0)
        throw RuntimeError(str(fn, ": output_size None entries need one entry per pooled dim (", spatial,
                               ") and an input with those dims, got input shape ", shape_str(x.shape())));
      out.push_back(x.shape()[d]);
    } else if (is_int(items[i])) {
      out.push_back(to_int64(items[i], fn, "output_size"));
    } else {
      throw TypeError(str(fn, ": output_size must be an int, None or a tuple of them, got ",
                          std::string(py::str(py::type::of(items[i]).attr("__name__")))));
    }
  }
  return out;
}

py::tuple with_indices(const std::pair<Tensor, Tensor>& r) {
  return py::make_tuple(r.first, r.second.defined() ? py::cast(r.second) : py::none());
}

}  // namespace

void bind_pool(py::module_& m) {
  // ---- max pooling -> (output, indices or None)
  m.def("max_pool2d", [](const Tensor& x, const py::object& kernel_size, const py::object& stride,
                         const py::object& padding, const py::object& dilation, bool ceil_mode, bool return_indices) {
    const Shape k = int_list(kernel_size, "max_pool2d", "kernel_size"), s = stride_list(stride, "max_pool2d"),
                p = int_list(padding, "max_pool2d", "padding"), d = int_list(dilation, "max_pool2d", "dilation");
    std::pair<Tensor, Tensor> r;
    {
      ReleaseGil nogil;
      r = ops::max_pool2d(x, k, s, p, d, ceil_mode, return_indices);
    }
    return with_indices(r);
  }, py::arg("x"), py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0,
     py::arg("dilation") = 1, py::arg("ceil_mode") = false, py::arg("return_indices") = false,
     "max pooling over (H, W) of (N, C, H, W) / (C, H, W); returns (output, int64 indices or None)");
  m.def("max_pool1d", [](const Tensor& x, const py::object& kernel_size, const py::object& stride,
                         const py::object& padding, const py::object& dilation, bool ceil_mode, bool return_indices) {
    const Shape k = int_list(kernel_size, "max_pool1d", "kernel_size"), s = stride_list(stride, "max_pool1d"),
                p = int_list(padding, "max_pool1d", "padding"), d = int_list(dilation, "max_pool1d", "dilation");
    std::pair<Tensor, Tensor> r;
    {
      ReleaseGil nogil;
      r = ops::max_pool1d(x, k, s, p, d, ceil_mode, return_indices);
    }
    return with_indices(r);
  }, py::arg("x"), py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0,
     py::arg("dilation") = 1, py::arg("ceil_mode") = false, py::arg("return_indices") = false,
     "max pooling over L of (N, C, L) / (C, L); returns (output, int64 indices or None)");
  m.def("adaptive_max_pool2d", [](const Tensor& x, const py::object& output_size, bool return_indices) {
    const Shape s = output_size_list(x, output_size, "adaptive_max_pool2d", 2);
    std::pair<Tensor, Tensor> r;
    {
      ReleaseGil nogil;
      r = ops::adaptive_max_pool2d(x, s, return_indices);
    }
    return with_indices(r);
  }, py::arg("x"), py::arg("output_size"), py::arg("return_indices") = false);
  m.def("adaptive_max_pool1d", [](const Tensor& x, const py::object& output_size, bool return_indices) {
    const Shape s = output_size_list(x, output_size, "adaptive_max_pool1d", 1);
    std::pair<Tensor, Tensor> r;
    {
      ReleaseGil nogil;
      r = ops::adaptive_max_pool1d(x, s, return_indices);
    }
    return with_indices(r);
  }, py::arg("x"), py::arg("output_size"), py::arg("return_indices") = false);

  // ---- average pooling
  m.def("avg_pool2d", [](const Tensor& x, const py::object& kernel_size, const py::object& stride,
                         const py::object& padding, bool ceil_mode, bool count_include_pad,
                         std::optional<int64_t> divisor_override) {
    const Shape k = int_list(kernel_size, "avg_pool2d", "kernel_size"), s = stride_list(stride, "avg_pool2d"),
                p = int_list(padding, "avg_pool2d", "padding");
    ReleaseGil nogil;
    return ops::avg_pool2d(x, k, s, p, ceil_mode, count_include_pad, divisor_override);
  }, py::arg("x"), py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0,
     py::arg("ceil_mode") = false, py::arg("count_include_pad") = true, py::arg("divisor_override") = py::none());
  m.def("avg_pool1d", [](const Tensor& x, const py::object& kernel_size, const py::object& stride,
                         const py::object& padding, bool ceil_mode, bool count_include_pad) {
    const Shape k = int_list(kernel_size, "avg_pool1d", "kernel_size"), s = stride_list(stride, "avg_pool1d"),
                p = int_list(padding, "avg_pool1d", "padding");
    ReleaseGil nogil;
    return ops::avg_pool1d(x, k, s, p, ceil_mode, count_include_pad);
  }, py::arg("x"), py::arg("kernel_size"), py::arg("stride") = py::none(), py::arg("padding") = 0,
     py::arg("ceil_mode") = false, py::arg("count_include_pad") = true);
  m.def("adaptive_avg_pool2d", [](const Tensor& x, const py::object& output_size) {
    const Shape s = output_size_list(x, output_size, "adaptive_avg_pool2d", 2);
    ReleaseGil nogil;
    return ops::adaptive_avg_pool2d(x, s);
  }, py::arg("x"), py::arg("output_size"));
  m.def("adaptive_avg_pool1d", [](const Tensor& x, const py::object& output_size) {
    const Shape s = output_size_list(x, output_size, "adaptive_avg_pool1d", 1);
    ReleaseGil nogil;
    return ops::adaptive_avg_pool1d(x, s);
  }, py::arg("x"), py::arg("output_size"));

  // ---- backward
  m.def("max_pool2d_backward", &ops::max_pool2d_backward, py::arg("grad"), py::arg("indices"),
        py::arg("input_shape"), release_gil(),
        "dL/dx of (adaptive) max_pool2d: grad added at the saved indices (h * W + w per plane)");
  m.def("max_pool1d_backward", &ops::max_pool1d_backward, py::arg("grad"), py::arg("indices"),
        py::arg("input_shape"), release_gil());
  m.def("avg_pool2d_backward", [](const Tensor& grad, const Shape& input_shape, const py::object& kernel_size,
                                  const py::object& stride, const py::object& padding, bool ceil_mode,
                                  bool count_include_pad, std::optional<int64_t> divisor_override) {
    const char* fn = "avg_pool2d_backward";
    const Shape k = int_list(kernel_size, fn, "kernel_size"), s = stride_list(stride, fn),
                p = int_list(padding, fn, "padding");
    ReleaseGil nogil;
    return ops::avg_pool2d_backward(grad, input_shape, k, s, p, ceil_mode, count_include_pad, divisor_override);
  }, py::arg("grad"), py::arg("input_shape"), py::arg("kernel_size"), py::arg("stride") = py::none(),
     py::arg("padding") = 0, py::arg("ceil_mode") = false, py::arg("count_include_pad") = true,
     py::arg("divisor_override") = py::none());
  m.def("avg_pool1d_backward", [](const Tensor& grad, const Shape& input_shape, const py::object& kernel_size,
                                  const py::object& stride, const py::object& padding, bool ceil_mode,
                                  bool count_include_pad) {
    const char* fn = "avg_pool1d_backward";
    const Shape k = int_list(kernel_size, fn, "kernel_size"), s = stride_list(stride, fn),
                p = int_list(padding, fn, "padding");
    ReleaseGil nogil;
    return ops::avg_pool1d_backward(grad, input_shape, k, s, p, ceil_mode, count_include_pad);
  }, py::arg("grad"), py::arg("input_shape"), py::arg("kernel_size"), py::arg("stride") = py::none(),
     py::arg("padding") = 0, py::arg("ceil_mode") = false, py::arg("count_include_pad") = true);
  m.def("adaptive_avg_pool2d_backward", &ops::adaptive_avg_pool2d_backward, py::arg("grad"), py::arg("input_shape"),
        release_gil());
  m.def("adaptive_avg_pool1d_backward", &ops::adaptive_avg_pool1d_backward, py::arg("grad"), py::arg("input_shape"),
        release_gil());
}

}  // namespace pe::bind

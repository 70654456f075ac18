// How Python numbers become pe::Scalar and the elementwise ops' Operand (a tensor or a number).
//
// pybind11's own casters would take a Python int outside int64 as a double (so tensor + 2**64
// silently became float32) and, in their converting pass, any object with __bool__ as a bool.
// These casters classify each number once, as PyTorch does: bool (Python or NumPy) -> bool;
// int or anything with __index__ -> int64, and an int outside int64 is an OverflowError naming
// the value (PyTorch: "int too big to convert"); float or anything else with __float__ -> double.
//
// Included by bind.h, so every binding file sees the same casters (they are specialisations).
#pragma once
#include <pybind11/pybind11.h>

#include <cstring>
#include <variant>

#include "core/scalar.h"
#include "core/tensor.h"

namespace pe::bind {

namespace py = pybind11;

inline bool is_numpy_bool(PyObject* o) {
  const char* name = Py_TYPE(o)->tp_name;
  return std::strcmp(name, "numpy.bool") == 0 || std::strcmp(name, "numpy.bool_") == 0;
}

// The number `src` holds; false (with no Python error set) when it is not a number.
inline bool load_scalar(py::handle src, Scalar& out) {
  PyObject* o = src.ptr();
  if (o == nullptr) return false;
  if (PyBool_Check(o) || is_numpy_bool(o)) {
    int truth = PyObject_IsTrue(o);
    if (truth < 0) throw py::error_already_set();
    out = Scalar(truth != 0);
    return true;
  }
  if (PyFloat_Check(o)) {
    out = Scalar(PyFloat_AsDouble(o));
    return true;
  }
  if (PyLong_Check(o) || PyIndex_Check(o)) {
    py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(o));
    if (!index) {
      PyErr_Clear();
      return false;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
    if (overflow != 0) {
      PyErr_Format(PyExc_OverflowError,
                   "int %S is out of the int64 range [-9223372036854775808, 9223372036854775807]: a tensor "
                   "operand or value must fit in int64",
                   index.ptr());
      throw py::error_already_set();
    }
    if (v == -1 && PyErr_Occurred()) throw py::error_already_set();
    out = Scalar(v);
    return true;
  }
  PyNumberMethods* nb = Py_TYPE(o)->tp_as_number;
  if (nb != nullptr && nb->nb_float != nullptr) {  // NumPy float scalars, Fraction, Decimal, ...
    double v = PyFloat_AsDouble(o);
    if (v == -1.0 && PyErr_Occurred()) {
      PyErr_Clear();
      return false;
    }
    out = Scalar(v);
    return true;
  }
  return false;
}

inline py::object scalar_to_python(const Scalar& s) {
  switch (s.kind) {
    case Scalar::Kind::Bool: return py::bool_(s.b);
    case Scalar::Kind::Int: return py::int_(s.i);
    case Scalar::Kind::Float: break;
  }
  return py::float_(s.d);
}

}  // namespace pe::bind

namespace pybind11::detail {

template <>
struct type_caster<pe::Scalar> {
  PYBIND11_TYPE_CASTER(pe::Scalar, const_name("int | float | bool"));

  bool load(handle src, bool) { return pe::bind::load_scalar(src, value); }

  static handle cast(const pe::Scalar& s, return_value_policy, handle) {
    return pe::bind::scalar_to_python(s).release();
  }
};

// ops::Operand (ops/elementwise.h): a tensor, or a number kept in its own type.
template <>
struct type_caster<std::variant<pe::Tensor, bool, int64_t, double>> {
  using Operand = std::variant<pe::Tensor, bool, int64_t, double>;
  PYBIND11_TYPE_CASTER(Operand, const_name("TensorImpl | int | float | bool"));

  bool load(handle src, bool convert) {
    make_caster<pe::Tensor> tensor;
    if (tensor.load(src, convert)) {
      value = cast_op<pe::Tensor&>(tensor);
      return true;
    }
    pe::Scalar s;
    if (!pe::bind::load_scalar(src, s)) return false;
    switch (s.kind) {
      case pe::Scalar::Kind::Bool: value = s.b; break;
      case pe::Scalar::Kind::Int: value = s.i; break;
      case pe::Scalar::Kind::Float: value = s.d; break;
    }
    return true;
  }

  static handle cast(const Operand&, return_value_policy, handle) {
    throw cast_error("an elementwise operand is never returned to Python");
  }
};

}  // namespace pybind11::detail

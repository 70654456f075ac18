// Python ints into int64: pybind11's own conversion of an int beyond int64 fails with
// "Unable to cast Python instance..." or a dump of the function's signatures; these say which
// argument had which value (PyTorch raises "Overflow when unpacking long long" there).
#include "bindings/bind.h"

namespace pe::bind {

namespace {
std::string type_name(const py::handle& v) { return py::str(py::type::of(v).attr("__name__")); }

std::string label(const char* fn, const char* name) { return str(*fn ? fn : "", *fn ? "(): " : "", "argument '", name, "'"); }

// Sizes out of range are a TypeError, scalars a ValueError: PyTorch's types for the two.
int64_t convert(const py::handle& v, const char* fn, const char* name, bool size_entry) {
  if (!PyIndex_Check(v.ptr()))
    throw TypeError(str(label(fn, name), " must be an int, not ", type_name(v)));
  py::object i = py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()));
  if (!i) throw py::error_already_set();
  int overflow = 0;
  const long long r = PyLong_AsLongLongAndOverflow(i.ptr(), &overflow);
  if (r == -1 && PyErr_Occurred()) throw py::error_already_set();
  if (overflow) {
    const std::string msg = str(label(fn, name), " = ", std::string(py::str(i)),
                                " is out of the int64 range [-9223372036854775808, 9223372036854775807]");
    if (size_entry) throw TypeError(msg);
    throw ValueError(msg);
  }
  return r;
}
}  // namespace

int64_t to_int64(const py::handle& v, const char* fn, const char* name) { return convert(v, fn, name, false); }

Shape to_shape(const py::handle& v, const char* fn, const char* name) {
  if (PyIndex_Check(v.ptr())) return {convert(v, fn, name, true)};
  if (!py::isinstance<py::sequence>(v) || py::isinstance<py::str>(v))
    throw TypeError(str(label(fn, name), " must be an int or a sequence of ints, not ", type_name(v)));
  Shape out;
  for (const py::handle& e : v.cast<py::sequence>()) {
    if (!PyIndex_Check(e.ptr()))
      throw TypeError(str(label(fn, name), " must be a sequence of ints, got an element of type ", type_name(e)));
    const std::string entry = str(name, "[", out.size(), "]");
    out.push_back(convert(e, fn, entry.c_str(), true));
  }
  return out;
}

}  // namespace pe::bind

#include "bindings/bind.h"
#include "core/error.h"

// Exception classes that are two builtin ones at once: pyengine's type of an error since the
// start, and the RuntimeError PyTorch raises for it, so `except` clauses written for either work.
static PyObject* make_dual_error(const char* name, PyObject* base, const char* doc) {
  PyObject* bases = PyTuple_Pack(2, base, PyExc_RuntimeError);
  PyObject* cls = bases ? PyErr_NewExceptionWithDoc(name, doc, bases, nullptr) : nullptr;
  Py_XDECREF(bases);
  if (!cls) throw py::error_already_set();
  return cls;  // one reference kept for the translator for the life of the process
}

PYBIND11_MODULE(_C, m) {
  m.doc() = "pyengine's native tensor engine";

  static PyObject* argument_error = make_dual_error(
      "pyengine.ArgumentError", PyExc_ValueError,
      "A bad shape or argument value: a ValueError, and a RuntimeError as PyTorch raises for these.");
  static PyObject* index_range_error = make_dual_error(
      "pyengine.IndexRangeError", PyExc_IndexError,
      "A dim or index out of range: an IndexError, and a RuntimeError as PyTorch raises for some of these "
      "(gather, scatter, narrow).");
  static PyObject* dtype_error = make_dual_error(
      "pyengine.DTypeError", PyExc_TypeError,
      "A tensor of a dtype the operation cannot take (or two that must match and differ): a TypeError, and a "
      "RuntimeError as PyTorch raises for these.");
  m.add_object("ArgumentError", py::handle(argument_error));
  m.add_object("DTypeError", py::handle(dtype_error));
  m.add_object("IndexRangeError", py::handle(index_range_error));

  // C++ errors become the Python exception of the same name (ValueError: ArgumentError, TypeError:
  // DTypeError, IndexError: IndexRangeError, each also a RuntimeError); anything else a RuntimeError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pe::ValueError& e) {
      PyErr_SetString(argument_error, e.what());
    } catch (const pe::TypeError& e) {
      PyErr_SetString(dtype_error, e.what());
    } catch (const pe::IndexError& e) {
      PyErr_SetString(index_range_error, e.what());
    } catch (const pe::NotImplementedError& e) {  // before its base, RuntimeError
      PyErr_SetString(PyExc_NotImplementedError, e.what());
    } catch (const pe::RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const pe::MemoryError& e) {
      PyErr_SetString(PyExc_MemoryError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "out of memory");
    }
  });

  pe::bind::bind_core(m);
  pe::bind::bind_elementwise(m);
  pe::bind::bind_reduce(m);
  pe::bind::bind_linalg(m);
  pe::bind::bind_index(m);
  pe::bind::bind_random(m);
  pe::bind::bind_dlpack(m);
  pe::bind::bind_cuda(m);
  pe::bind::bind_softmax(m);
  pe::bind::bind_activation(m);
  pe::bind::bind_optim(m);
  pe::bind::bind_conv(m);
  pe::bind::bind_pool(m);
  pe::bind::bind_norm(m);
  pe::bind::bind_rnn(m);
  pe::bind::bind_embedding(m);
  pe::bind::bind_attention(m);
  pe::bind::bind_sort(m);
  pe::bind::bind_scan(m);
  pe::bind::bind_upsample(m);
  pe::bind::bind_linalg_solvers(m);
}

#include "bindings/bind.h"
#include "core/error.h"

PYBIND11_MODULE(_C, m) {
  m.doc() = "pyengine's native tensor engine";

  // C++ errors become the Python exception of the same name; anything else a RuntimeError.
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const pe::ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const pe::TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const pe::IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
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
  pe::bind::bind_upsample(m);
}

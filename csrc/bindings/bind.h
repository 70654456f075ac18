// One pybind11 module, _C. Each kernel family registers its functions from its own file.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bindings/scalar_caster.h"  // before any use of Scalar / ops::Operand

#include "core/tensor.h"

namespace py = pybind11;

namespace pe::bind {

// True once the interpreter has begun to shut down (a daemon thread may still be in a kernel).
inline bool interpreter_finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing() != 0;
#else
  return _Py_IsFinalizing() != 0;
#endif
}

// Drops the GIL around a kernel so other Python threads run meanwhile; use it instead of
// py::gil_scoped_release everywhere. A daemon thread that returns from a kernel while the
// interpreter exits must not take the GIL back: CPython (< 3.14) ends such a thread with
// pthread_exit, whose forced unwind cannot cross gil_scoped_release's noexcept destructor, and
// the process aborts ("terminate called without an active exception"). So the thread parks for
// good instead, as Python 3.14 does itself; the process exit ends it. If shutdown starts between
// the check and the re-take, the destructor is noexcept(false), so the unwind passes through to
// pybind11's dispatcher, which lets it continue (it rethrows abi::__forced_unwind).
class ReleaseGil {
 public:
  ReleaseGil() : state_(PyEval_SaveThread()) {}
  ~ReleaseGil() noexcept(false) {
    if (interpreter_finalizing()) park_forever();
    PyEval_RestoreThread(state_);
  }
  ReleaseGil(const ReleaseGil&) = delete;
  ReleaseGil& operator=(const ReleaseGil&) = delete;

  [[noreturn]] static void park_forever();

 private:
  PyThreadState* state_;
};

using release_gil = py::call_guard<ReleaseGil>;

// Runs f (which releases Python objects) with the GIL held, from a storage deleter that may run
// on any thread. While the interpreter shuts down a thread without the GIL cannot take it (see
// ReleaseGil), so the objects are left to the exiting process instead.
template <class F>
void with_gil_unless_exiting(F&& f) {
  if (!PyGILState_Check() && interpreter_finalizing()) return;
  py::gil_scoped_acquire gil;
  f();
}

void bind_core(py::module_& m);         // TensorImpl, creation, copies, views, threads, ISA
void bind_elementwise(py::module_& m);  // unary/binary math, comparisons, where, clamp
void bind_reduce(py::module_& m);       // sum, mean, max, var, norm, logsumexp, ...
void bind_linalg(py::module_& m);       // matmul / gemm
void bind_index(py::module_& m);        // cat, gather, scatter_add, index, index_put, tril, one_hot
void bind_random(py::module_& m);       // Philox rand, randn, randint
void bind_dlpack(py::module_& m);       // __dlpack__ / from_dlpack
void bind_cuda(py::module_& m);         // cuda availability and device info
void bind_softmax(py::module_& m);      // softmax / log-softmax forward / backward
void bind_activation(py::module_& m);   // parametrised activations (hardswish, celu, hardtanh, ...) forward / backward
void bind_optim(py::module_& m);        // fused optimizer update steps
void bind_conv(py::module_& m);         // convolution forward / backward (1-D, 2-D, transposed)
void bind_pool(py::module_& m);         // max / average / adaptive pooling forward / backward
void bind_norm(py::module_& m);         // batch / layer / group / RMS normalization forward / backward
void bind_rnn(py::module_& m);          // recurrent layers (RNN, LSTM, GRU) forward / backward through time
void bind_embedding(py::module_& m);    // embedding_bag forward / backward (fused sum / mean / max)
void bind_attention(py::module_& m);    // fused scaled dot-product attention forward / backward
void bind_sort(py::module_& m);         // topk indices
void bind_scan(py::module_& m);         // cumsum / cumprod / logcumsumexp / cummax / cummin
void bind_upsample(py::module_& m);     // nearest / (bi)linear upsampling forward / backward
void bind_linalg_solvers(py::module_& m);  // LU, Cholesky, QR, eigh, SVD (pyengine.linalg)

DType parse_dtype(const py::object& obj);  // "float32" etc.

// A Python int (anything with __index__) as int64: TypeError for other types, and a
// ValueError naming `fn`'s argument `name` and its value when it lies outside int64 (ints.cpp).
int64_t to_int64(const py::handle& v, const char* fn, const char* name);
// An int or a sequence of ints, each entry as to_int64 ("size[1]" in messages) but a TypeError
// when out of range, as PyTorch's size arguments.
Shape to_shape(const py::handle& v, const char* fn, const char* name);

}  // namespace pe::bind

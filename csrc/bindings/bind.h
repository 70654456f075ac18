// One pybind11 module, _C. Each kernel family registers its functions from its own file.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/tensor.h"

namespace py = pybind11;

namespace pe::bind {

// Kernel calls drop the GIL so other Python threads run meanwhile.
using release_gil = py::call_guard<py::gil_scoped_release>;

void bind_core(py::module_& m);         // TensorImpl, creation, copies, views, threads, ISA
void bind_elementwise(py::module_& m);  // unary/binary math, comparisons, where, clamp
void bind_reduce(py::module_& m);       // sum, mean, max, var, norm, logsumexp, ...
void bind_linalg(py::module_& m);       // matmul / gemm
void bind_index(py::module_& m);        // cat, gather, scatter_add, index, index_put, tril, one_hot
void bind_random(py::module_& m);       // Philox rand, randn, randint
void bind_dlpack(py::module_& m);       // __dlpack__ / from_dlpack
void bind_cuda(py::module_& m);         // cuda availability and device info
void bind_softmax(py::module_& m);      // softmax / log-softmax forward / backward
void bind_optim(py::module_& m);        // fused optimizer update steps
void bind_conv(py::module_& m);         // convolution forward / backward (1-D, 2-D, transposed)
void bind_pool(py::module_& m);         // max / average / adaptive pooling forward / backward
void bind_norm(py::module_& m);         // batch / layer / group / RMS normalization forward / backward
void bind_rnn(py::module_& m);          // recurrent layers (RNN, LSTM, GRU) forward / backward through time
void bind_embedding(py::module_& m);    // embedding_bag forward / backward (fused sum / mean / max)

DType parse_dtype(const py::object& obj);  // "float32" etc.

// A Python int (anything with __index__) as int64: TypeError for other types, and a
// ValueError naming `fn`'s argument `name` and its value when it lies outside int64 (ints.cpp).
int64_t to_int64(const py::handle& v, const char* fn, const char* name);
// An int or a sequence of ints, each entry as to_int64 ("size[1]" in messages) but a TypeError
// when out of range, as PyTorch's size arguments.
Shape to_shape(const py::handle& v, const char* fn, const char* name);

}  // namespace pe::bind

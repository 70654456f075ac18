// The CUDA backend's entry points. cuda/ fills this table when pyengine is built with nvcc;
// an empty slot means "not available on CUDA", and the op layer says so in a RuntimeError.
// Functions get tensors already validated by the op layer (same device, shapes checked).
#pragma once
#include "core/tensor.h"

namespace pe::ops {

struct CudaOps {
  void (*copy_)(const Tensor& dst, const Tensor& src) = nullptr;  // converts dtypes too
  void (*fill_)(const Tensor& dst, double value) = nullptr;
  void (*unary)(int op, const Tensor& out, const Tensor& in) = nullptr;
  void (*binary)(int op, const Tensor& out, const Tensor& a, const Tensor& b) = nullptr;
  void (*where)(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) = nullptr;
  void (*reduce)(int op, const Tensor& out, const Tensor& in, const Shape& dims) = nullptr;
  void (*matmul)(const Tensor& out, const Tensor& a, const Tensor& b) = nullptr;
};

CudaOps& cuda_ops();

// RuntimeError "<what> is not implemented for CUDA tensors" when a slot is empty.
template <class Fn>
Fn cuda_op(Fn fn, const char* what) {
  PE_CHECK(fn != nullptr, RuntimeError, what, " is not implemented for CUDA tensors yet");
  return fn;
}

}  // namespace pe::ops

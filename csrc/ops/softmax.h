// Softmax and log-softmax along one dim, with their fused backward. Float32/float64, any
// strides (the result is contiguous), any dim (negative dims wrap; a 0-d tensor is one row of
// length 1). CPU only for now: CUDA tensors raise RuntimeError.
#pragma once
#include "core/tensor.h"

namespace pe::ops {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// grad: dL/dy; y: the forward output (same shape). Returns dL/dx.
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);

}  // namespace pe::ops

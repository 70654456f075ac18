// Softmax and log-softmax along one dim, with their fused backward. Float32/float64, any
// strides (the result is contiguous), any dim (negative dims wrap; a 0-d tensor is one row of
// length 1). Device-neutral: validates, allocates, ends in one kernel slot.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"

namespace pe::ops {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// grad: dL/dy; y: the forward output (same shape). Returns dL/dx.
Tensor softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, int64_t dim);

// ---------------------------------------------------------------- kernels
// The op layer describes the tensors as ROWS: one row per index of the kept dims (every dim but
// the softmax dim), `n` elements along the softmax dim. Each operand has its own strides (in
// elements), so strided, transposed and broadcast views are read in place.
struct SoftmaxOperand {
  const void* data = nullptr;
  Shape row_strides;   // per kept dim (same length as SoftmaxArgs::row_shape)
  int64_t stride = 1;  // along the softmax dim
};

struct SoftmaxArgs {
  DType dtype = DType::Float32;  // every operand has this dtype
  bool log = false;              // log-softmax instead of softmax
  Shape row_shape;               // the kept dims (may be empty: one row)
  int64_t n = 0;                 // length of each row
  SoftmaxOperand in;             // forward: x; backward: y (the forward output)
  SoftmaxOperand grad;           // backward only: dL/dy
  void* out = nullptr;           // written with `out_row_strides` / `out_stride`
  Shape out_row_strides;
  int64_t out_stride = 1;
};

// Kernel contract: dtype float32/float64; at least one row and n >= 1; out does not overlap
// the inputs; pointers on the slot's device. Forward, stable: with m the row max,
//   softmax_i = exp(x_i - m) / sum_j exp(x_j - m),  log_softmax_i = (x_i - m) - log(sum_j ...);
// a NaN anywhere makes the row NaN, an all -inf row gives NaN (as PyTorch). Backward (y the
// forward output, g = dL/dy): softmax dx_i = y_i (g_i - sum_j g_j y_j); log_softmax
// dx_i = g_i - exp(y_i) sum_j g_j.
inline KernelSlot<void (*)(const SoftmaxArgs&)> softmax_forward_kernel{"softmax"};
inline KernelSlot<void (*)(const SoftmaxArgs&)> softmax_backward_kernel{"softmax_backward"};

}  // namespace pe::ops

// The parametrised activations of math/activation_math.h (hardswish, mish, celu, selu, hardtanh,
// the shrinks, ...): forward and fused backward. Float32/float64, any strides (the result is
// contiguous). Device-neutral: validates, allocates, ends in one kernel slot.
#pragma once
#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/activation_math.h"

namespace pe::ops {

// The op named `name` ("hardswish", ...); a ValueError listing the names for any other.
act::ActivationOp activation_op(const std::string& name);

// y = f(x; a, b). a and b are the op's parameters (alpha, lambd, min/max; 0 where unused).
Tensor activation(act::ActivationOp op, const Tensor& x, double a, double b);
// dL/dx from grad = dL/dy and the forward input x (same shape, dtype and device).
Tensor activation_backward(act::ActivationOp op, const Tensor& grad, const Tensor& x, double a, double b);

// ---------------------------------------------------------------- kernels
// Raw operands (no pe::Tensor, so cuda/activation.cu also builds in the emulator's test module):
// every operand has `shape` and its own element strides (any layout); out does not overlap x or
// grad; dtype float32/float64 for all; numel > 0; pointers on the slot's device.
struct ActivationOperand {
  const void* data = nullptr;
  Shape strides;  // in elements, one per dim of ActivationArgs::shape
};

struct ActivationArgs {
  act::ActivationOp op = act::ActivationOp::Hardswish;
  DType dtype = DType::Float32;
  Shape shape;
  double a = 0, b = 0;      // the op's parameters
  ActivationOperand x;      // the forward input
  ActivationOperand grad;   // backward only: dL/dy
  void* out = nullptr;      // y (forward) or dL/dx (backward)
  Shape out_strides;
};

inline KernelSlot<void (*)(const ActivationArgs&)> activation_forward_kernel{"activation"};
inline KernelSlot<void (*)(const ActivationArgs&)> activation_backward_kernel{"activation_backward"};

}  // namespace pe::ops

// CPU softmax / log-softmax kernels, forward and backward (csrc/cpu/softmax_kernels.cpp,
// compiled once per ISA).
//
// The op layer describes the tensors as ROWS: one row per index of the kept dims (every dim
// but the softmax dim), `n` elements along the softmax dim. Each operand has its own strides,
// so strided, transposed and broadcast views are read in place. Rows whose softmax-dim stride
// is 1 take the contiguous fast path.
#pragma once
#include "core/isa.h"
#include "core/tensor.h"

namespace pe::cpu {

struct SoftmaxOperand {
  const void* data = nullptr;
  Shape row_strides;     // per kept dim (same length as SoftmaxArgs::row_shape)
  int64_t stride = 1;    // along the softmax dim
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

}  // namespace pe::cpu

#define PE_DECLARE_SOFTMAX(isa)                              \
  namespace pe::cpu::isa {                                   \
  void softmax_forward(const ::pe::cpu::SoftmaxArgs& a);     \
  void softmax_backward(const ::pe::cpu::SoftmaxArgs& a);    \
  }
PE_FOR_EACH_ISA(PE_DECLARE_SOFTMAX)
#undef PE_DECLARE_SOFTMAX

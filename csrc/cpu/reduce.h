// CPU reduction kernels (csrc/cpu/reduce_kernels.cpp, compiled once per ISA).
//
// The op layer describes a reduction as two index spaces over the input, both in element
// strides with size-1 dims dropped and adjacent dims merged: the KEPT dims (one output
// element per index, outputs written contiguously in that order) and the REDUCED dims
// (walked in row-major order, which is also the order argmax indices count in).
#pragma once
#include "core/isa.h"
#include "core/tensor.h"
#include "ops/reduce.h"  // ReduceOp: the op vocabulary shared with the op table and CUDA

namespace pe::cpu {

struct ReduceArgs {
  ops::ReduceOp op = ops::ReduceOp::Sum;
  DType in_dtype = DType::Float32;
  DType out_dtype = DType::Float32;  // must be the kernel's result type for (op, in_dtype)
  const void* in = nullptr;          // first element of the input view
  void* out = nullptr;               // contiguous, kept_numel elements (may be null for ArgMax/ArgMin)
  int64_t* out_index = nullptr;      // ArgMax/ArgMin only
  Shape kept_shape, kept_strides;    // may be empty (a single output)
  Shape red_shape, red_strides;      // may be empty (each output reduces one element)
  double p = 2.0;                    // Norm order
  double correction = 1.0;           // Var/Std: divide by max(0, n - correction)
};

}  // namespace pe::cpu

#define PE_DECLARE_REDUCE(isa)                  \
  namespace pe::cpu::isa {                      \
  void reduce(const ::pe::cpu::ReduceArgs& a);  \
  }
PE_FOR_EACH_ISA(PE_DECLARE_REDUCE)
#undef PE_DECLARE_REDUCE

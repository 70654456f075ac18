// CPU elementwise kernels, one build per ISA (csrc/cpu/elementwise_kernels.cpp); call them
// through PE_ISA_CALL. Contract (checked by csrc/ops/elementwise.cpp, see also the top of
// ops/elementwise_math.h): inputs already have the op's compute dtype and broadcast to
// out.shape(); out has the op's result dtype and overlaps no input except as the same view.
#pragma once
#include "core/isa.h"
#include "core/tensor.h"
#include "ops/elementwise_math.h"

#define PE_DECLARE_ELEMENTWISE_KERNELS(isa)                                                      \
  namespace pe::cpu::isa {                                                                       \
  void elementwise_unary(ew::UnaryOp op, const Tensor& out, const Tensor& in);                   \
  void elementwise_binary(ew::BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b); \
  /* out = cond ? a : b; cond is bool, a and b have out's dtype */                               \
  void elementwise_where(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b); \
  }
PE_FOR_EACH_ISA(PE_DECLARE_ELEMENTWISE_KERNELS)
#undef PE_DECLARE_ELEMENTWISE_KERNELS

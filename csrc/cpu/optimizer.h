// CPU optimizer update kernels, one build per ISA (csrc/cpu/optimizer_kernels.cpp); call them
// through PE_ISA_CALL. Each updates n contiguous elements of a parameter in place, together
// with its state buffers, in one pass. Contract (checked by csrc/ops/optimizer.cpp): every
// pointer addresses n contiguous elements of the same dtype T (float or double), buffers do not
// overlap each other, and an optional buffer is nullptr exactly when its option is off.
#pragma once
#include <cstdint>

#include "core/isa.h"
#include "math/optimizer_math.h"

#define PE_DECLARE_OPTIMIZER_KERNELS(isa)                                                         \
  namespace pe::cpu::isa {                                                                        \
  /* momentum_buf: nullptr when momentum == 0 */                                                  \
  template <class T>                                                                              \
  void sgd_step(int64_t n, T* param, const T* grad, T* momentum_buf, const optim::SgdOptions& o); \
  /* max_exp_avg_sq: nullptr unless amsgrad */                                                    \
  template <class T>                                                                              \
  void adam_step(int64_t n, T* param, const T* grad, T* exp_avg, T* exp_avg_sq, T* max_exp_avg_sq, \
                 const optim::AdamOptions& o);                                                    \
  /* grad_avg: nullptr unless centered; momentum_buf: nullptr unless momentum > 0 */              \
  template <class T>                                                                              \
  void rmsprop_step(int64_t n, T* param, const T* grad, T* square_avg, T* grad_avg, T* momentum_buf, \
                    const optim::RmspropOptions& o);                                              \
  template <class T>                                                                              \
  void adagrad_step(int64_t n, T* param, const T* grad, T* sum, const optim::AdagradOptions& o);  \
  template <class T>                                                                              \
  void adadelta_step(int64_t n, T* param, const T* grad, T* square_avg, T* acc_delta,             \
                     const optim::AdadeltaOptions& o);                                            \
  }
PE_FOR_EACH_ISA(PE_DECLARE_OPTIMIZER_KERNELS)
#undef PE_DECLARE_OPTIMIZER_KERNELS

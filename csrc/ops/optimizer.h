// Fused optimizer steps: each updates one parameter (and its state buffers) in place in one
// kernel pass, with PyTorch's update rule (see math/optimizer_math.h), and bumps the versions
// of everything it wrote.
//
// Checked once here: param is float32, float64, float16 or bfloat16 (16-bit state buffers stay
// 16-bit, as in PyTorch); grad and every state buffer have param's shape, dtype and device; state
// buffers are contiguous and overlap neither the parameter nor each other. A non-contiguous
// parameter is updated through a contiguous temporary that is copied back; a non-contiguous
// (or aliasing) gradient is read through a contiguous copy.
// An optional buffer is required when its option is on and ignored when it is off.
#pragma once
#include <optional>

#include "core/dispatch.h"
#include "core/tensor.h"
#include "math/optimizer_math.h"

namespace pe::ops {

using OptionalTensor = std::optional<Tensor>;

// momentum_buf: needed when momentum != 0 (on the first step it is overwritten with the gradient).
void sgd_step_(const Tensor& param, const Tensor& grad, const OptionalTensor& momentum_buf,
               const optim::SgdOptions& o);
// max_exp_avg_sq: needed when amsgrad. o.step counts this update (1 on the first call).
void adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const OptionalTensor& max_exp_avg_sq, const optim::AdamOptions& o);
// grad_avg: needed when centered; momentum_buf: needed when momentum > 0.
void rmsprop_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const OptionalTensor& grad_avg,
                   const OptionalTensor& momentum_buf, const optim::RmspropOptions& o);
void adagrad_step_(const Tensor& param, const Tensor& grad, const Tensor& sum, const optim::AdagradOptions& o);
void adadelta_step_(const Tensor& param, const Tensor& grad, const Tensor& square_avg, const Tensor& acc_delta,
                    const optim::AdadeltaOptions& o);
void nadam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const optim::NadamOptions& o);
void radam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                 const optim::RadamOptions& o);
void adamax_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_inf,
                  const optim::AdamaxOptions& o);
// Rows are the slices along dim 0 (a 0-d param is one row); only rows whose gradient has a
// nonzero element are updated (see SparseAdam in math/optimizer_math.h).
void sparse_adam_step_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                       const optim::SparseAdamOptions& o);

// The kernels' dtypes: float32 and float64, and float16/bfloat16 updated in float
// (see step_compute_t in math/optimizer_math.h).
#define PE_DISPATCH_OPTIM(dt, NAME, ...) PE_DISPATCH_FLOATING_AND_HALF(dt, NAME, __VA_ARGS__)

// Kernels: one pass over n elements, the math of math/optimizer_math.h. Contract (what the op
// bodies above guarantee): n > 0; every pointer addresses n contiguous elements of `dtype`
// (float32, float64, float16 or bfloat16) on the slot's device; param and the state buffers overlap nothing
// else; grad overlaps none of them; an optional buffer is null exactly when its option is off
// (SGD momentum == 0, Adam !amsgrad, RMSprop !centered / momentum <= 0).
struct SgdArgs {
  DType dtype;
  int64_t n;
  void* param;
  const void* grad;
  void* momentum_buf;
  optim::SgdOptions o;
};
struct AdamArgs {
  DType dtype;
  int64_t n;
  void* param;
  const void* grad;
  void *exp_avg, *exp_avg_sq, *max_exp_avg_sq;
  optim::AdamOptions o;
};
struct RmspropArgs {
  DType dtype;
  int64_t n;
  void* param;
  const void* grad;
  void *square_avg, *grad_avg, *momentum_buf;
  optim::RmspropOptions o;
};
struct AdagradArgs {
  DType dtype;
  int64_t n;
  void* param;
  const void* grad;
  void* sum;
  optim::AdagradOptions o;
};
struct AdadeltaArgs {
  DType dtype;
  int64_t n;
  void* param;
  const void* grad;
  void *square_avg, *acc_delta;
  optim::AdadeltaOptions o;
};
// NAdam, RAdam and Adamax share one layout: the parameter and two state buffers.
struct AdamLikeArgs {
  DType dtype;
  int64_t n;
  void* param;
  const void* grad;
  void *state1, *state2;  // exp_avg, and exp_avg_sq (NAdam, RAdam) or exp_inf (Adamax)
};
struct NadamArgs : AdamLikeArgs {
  optim::NadamOptions o;
};
struct RadamArgs : AdamLikeArgs {
  optim::RadamOptions o;
};
struct AdamaxArgs : AdamLikeArgs {
  optim::AdamaxOptions o;
};
// n = rows * cols elements, row-major.
struct SparseAdamArgs : AdamLikeArgs {
  int64_t rows, cols;
  optim::SparseAdamOptions o;
};
inline KernelSlot<void (*)(const SgdArgs&)> sgd_step_kernel{"sgd_step_"};
inline KernelSlot<void (*)(const AdamArgs&)> adam_step_kernel{"adam_step_"};
inline KernelSlot<void (*)(const RmspropArgs&)> rmsprop_step_kernel{"rmsprop_step_"};
inline KernelSlot<void (*)(const AdagradArgs&)> adagrad_step_kernel{"adagrad_step_"};
inline KernelSlot<void (*)(const AdadeltaArgs&)> adadelta_step_kernel{"adadelta_step_"};
inline KernelSlot<void (*)(const NadamArgs&)> nadam_step_kernel{"nadam_step_"};
inline KernelSlot<void (*)(const RadamArgs&)> radam_step_kernel{"radam_step_"};
inline KernelSlot<void (*)(const AdamaxArgs&)> adamax_step_kernel{"adamax_step_"};
inline KernelSlot<void (*)(const SparseAdamArgs&)> sparse_adam_step_kernel{"sparse_adam_step_"};

}  // namespace pe::ops

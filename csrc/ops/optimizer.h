// Fused optimizer steps: each updates one parameter (and its state buffers) in place in one
// kernel pass, with PyTorch's update rule (see math/optimizer_math.h), and bumps the versions
// of everything it wrote.
//
// Checked once here: param is float32/float64 on the CPU; grad and every state buffer have
// param's shape and dtype; state buffers are contiguous and overlap neither the parameter nor
// each other. A non-contiguous parameter is updated through a contiguous temporary that is
// copied back; a non-contiguous (or aliasing) gradient is read through a contiguous copy.
// An optional buffer is required when its option is on and ignored when it is off.
#pragma once
#include <optional>

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

}  // namespace pe::ops

// CPU kernels that fill a fresh contiguous 1-D/2-D tensor with a structured pattern.
#pragma once
#include "core/tensor.h"

namespace pe::cpu {

// out[i] = start + i * step, computed in double and converted (out: contiguous, 1-D).
void arange(const Tensor& out, double start, double step);
// PyTorch's two-sided formula: exact at both ends (out: contiguous, 1-D, steps = numel >= 2).
void linspace(const Tensor& out, double start, double end);
// Ones on the main diagonal of a contiguous 2-D tensor, zeros elsewhere.
void eye(const Tensor& out);

}  // namespace pe::cpu

// CPU kernels for moving data: strided copy with dtype conversion and broadcasting, fill.
#pragma once
#include "core/scalar.h"
#include "core/tensor.h"

namespace pe::cpu {

void copy(const Tensor& dst, const Tensor& src);  // src already broadcastable to dst
void fill(const Tensor& dst, Scalar value);

}  // namespace pe::cpu

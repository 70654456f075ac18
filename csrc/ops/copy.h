// Copies and conversions: the only way data moves between layouts, dtypes and devices.
#pragma once
#include "core/tensor.h"

namespace pe::ops {

// dst[...] = src broadcast to dst's shape, converted to dst's dtype; any devices.
void copy_(const Tensor& dst, const Tensor& src);
void fill_(const Tensor& dst, double value);
Tensor contiguous(const Tensor& t);           // t itself when already contiguous
Tensor clone(const Tensor& t);                // always a fresh contiguous copy
Tensor to_dtype(const Tensor& t, DType dtype);  // t itself when the dtype matches
Tensor to_device(const Tensor& t, Device device);
Tensor empty_like(const Tensor& t);
Tensor full(const Shape& shape, double value, DType dtype, Device device = {});

}  // namespace pe::ops

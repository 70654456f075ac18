// Copies and conversions: the only way data moves between layouts, dtypes and devices.
#pragma once
#include "core/dispatch.h"
#include "core/scalar.h"
#include "core/tensor.h"

namespace pe::ops {

// dst[...] = src broadcast to dst's shape, converted to dst's dtype; any devices.
void copy_(const Tensor& dst, const Tensor& src);
// dst[...] = value, converted exactly once to dst's dtype (a float that dtype cannot hold is a
// RuntimeError, as in PyTorch).
void fill_(const Tensor& dst, Scalar value);
Tensor contiguous(const Tensor& t);           // t itself when already contiguous
Tensor clone(const Tensor& t);                // always a fresh contiguous copy
Tensor to_dtype(const Tensor& t, DType dtype);  // t itself when the dtype matches
Tensor to_device(const Tensor& t, Device device);
Tensor empty_like(const Tensor& t);
Tensor full(const Shape& shape, Scalar value, DType dtype, Device device = {});

// Kernels (one device; dst and src on it): dst[...] = src broadcast to dst's shape and converted
// to dst's dtype (src already broadcastable, dst non-overlapping); dst[...] = value.
inline KernelSlot<void (*)(const Tensor& dst, const Tensor& src)> copy_kernel{"copy_"};
inline KernelSlot<void (*)(const Tensor& dst, Scalar value)> fill_kernel{"fill_"};

}  // namespace pe::ops

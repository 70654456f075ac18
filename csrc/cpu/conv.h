// 2-D convolution kernels (cross-correlation, PyTorch's conv2d): a direct forward kernel and
// a direct weight gradient for few output channels (cpu/conv_kernels.h), GEMM-based gradients
// otherwise (cpu/conv.cpp explains the methods).
//
// Three kernels cover conv2d and conv_transpose2d, forward and backward (see ops/conv.h);
// conv.cpp registers them, and channel_sum, in the op family's kernel slots.
//
// Layouts: the convolution input x is (N, C, H, W) with arbitrary element strides; the weight
// is contiguous (K, C/groups, kH, kW); outputs and output gradients are contiguous
// (N, K, OH, OW). Every size is given explicitly (the op layer computes OH/OW), so a kernel
// never derives one shape from another.
//
// Work is split over (image, group) pairs with pe::parallel_for; each pair runs
// single-threaded GEMMs (cpu::gemm is single-threaded inside a parallel region) on per-thread
// scratch. The weight gradient accumulates over images in a fixed number of slots that
// depends only on the shape, so no result depends on the thread count.
//
// T is float, double, BFloat16 or Half. The 16-bit floats take the GEMM methods only (the direct
// kernels are float/double): column matrices and padded copies stay 16-bit, cpu::gemm16 sums
// into float32, and every result element (y, gx, gw) is rounded once to T at the end.
#pragma once
#include <cstdint>

#include "ops/conv.h"

namespace pe::cpu {

using ops::Conv2dShape;  // the geometry every conv kernel takes (ops/conv.h)

// y = conv(x, w) + bias (bias may be null). y contiguous (N, K, OH, OW), fully overwritten.
template <class T>
void conv2d_forward(const Conv2dShape& s, const T* x, const T* w, const T* bias, T* y);

// gx = dL/dx from gy = dL/dy (contiguous); gx contiguous (N, C, H, W), overwritten. When
// `bias` is not null, gx starts from bias[c] instead of 0 (conv_transpose2d's bias).
template <class T>
void conv2d_backward_input(const Conv2dShape& s, const T* gy, const T* w, const T* bias, T* gx);

// gw = dL/dw (contiguous like the weight), overwritten.
template <class T>
void conv2d_backward_weight(const Conv2dShape& s, const T* gy, const T* x, T* gw);

// out[c] = sum over n and p of y[n, c, p] for contiguous y (N, C, P): a bias gradient.
template <class T>
void channel_sum(int64_t n, int64_t c, int64_t p, const T* y, T* out);

}  // namespace pe::cpu

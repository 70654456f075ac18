// The direct convolution forward, compiled once per ISA (conv_kernels.cpp).
//
// No GEMM and no column matrix: each image group is copied once into a zero-padded buffer
// (split into stride phases when the conv is strided), and the output is computed on a grid
// of OH rows of wpp columns (the padded width per phase; the junk columns past OW are
// dropped). On that grid every kernel tap (c, kh, kw) is one contiguous run of the buffer,
// so a register-tiled kernel (output channels x 2 vectors of grid columns) reads the taps
// straight from it through a table of offsets, taps blocked to stay in L1. Parallel over
// (image, group) pairs, cutting an image's columns when there are fewer pairs than threads.
// conv.cpp runs every forward but a plain 1x1 through it (and the stride-1 input gradient,
// which is a conv too), except where the padded buffer would dwarf the problem (huge padding
// or dilation: conv.cpp's padding_dominates), which never reaches these kernels.
//
// conv2d_backward_weight_direct is the same sum read the other way round, for few output
// channels: gw (out_c x C/g*kH*kW, overwritten) = the sum over images n0, n0 + step, ... of
// gy's grid rows against each tap's run of the padded image. Single-threaded: conv.cpp runs
// one call per slot of images and adds the slots in order.
#pragma once
#include "core/isa.h"
#include "cpu/conv.h"

#define PE_DECLARE_CONV_KERNELS(isa)                                                                            \
  namespace pe::cpu::isa {                                                                                      \
  void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);    \
  void conv2d_forward_direct(const Conv2dShape& s, const double* x, const double* w, const double* bias, double* y); \
  void conv2d_backward_weight_direct(const Conv2dShape& s, const float* gy, const float* x, int64_t n0,            \
                                     int64_t step, float* gw);                                                      \
  void conv2d_backward_weight_direct(const Conv2dShape& s, const double* gy, const double* x, int64_t n0,          \
                                     int64_t step, double* gw);                                                     \
  }
PE_FOR_EACH_ISA(PE_DECLARE_CONV_KERNELS)
#undef PE_DECLARE_CONV_KERNELS

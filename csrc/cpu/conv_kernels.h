// The direct stride-1 convolution forward, compiled once per ISA (conv_kernels.cpp).
//
// No GEMM and no column matrix: each image group is copied into a zero-padded buffer, and a
// register-tiled kernel (kRows output channels x 2 vectors of output columns) reads the
// kernel-tap rows straight from it through a table of offsets, one per (c, kh, kw) tap.
// The output is computed on a grid of OH rows of wp (padded width) columns; the junk columns
// past OW are dropped when the grid is copied out. conv.cpp calls it for every stride-1 conv.
#pragma once
#include "core/isa.h"
#include "cpu/conv.h"

#define PE_DECLARE_CONV_KERNELS(isa)                                                                            \
  namespace pe::cpu::isa {                                                                                      \
  void conv2d_forward_direct(const Conv2dShape& s, const float* x, const float* w, const float* bias, float* y);    \
  void conv2d_forward_direct(const Conv2dShape& s, const double* x, const double* w, const double* bias, double* y); \
  }
PE_FOR_EACH_ISA(PE_DECLARE_CONV_KERNELS)
#undef PE_DECLARE_CONV_KERNELS

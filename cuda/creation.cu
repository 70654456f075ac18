// CUDA fills of the creation ops (contracts in ops/index.h): arange, linspace and eye write a
// fresh contiguous tensor on the device, one element per thread (grid-stride), with the values
// of math/creation_math.h that the CPU kernels also use.
#include "cuda/cuda_emu.h"
#include "cuda/strided.h"
#include "math/creation_math.h"
#include "ops/index.h"

namespace pe::cuda {
namespace {

template <class T>
__global__ void arange_elements(T* out, int64_t n, double start, double step, int64_t int_start, int64_t int_step) {
  PE_GRID_STRIDE_LOOP(i, n) out[i] = creation::arange_value<T>(start, step, int_start, int_step, i);
}

template <class T>
__global__ void linspace_elements(T* out, creation::Linspace<T> value) {
  PE_GRID_STRIDE_LOOP(i, value.steps) out[i] = value(i);
}

template <class T>
__global__ void eye_elements(T* out, int64_t total, int64_t m) {
  PE_GRID_STRIDE_LOOP(i, total) out[i] = i / m == i % m ? T(1) : T(0);
}

void arange(const ops::ArangeArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "arange", [&] {
    PE_LAUNCH(arange_elements<scalar_t>, blocks_for(a.n), kThreads, 0, static_cast<scalar_t*>(a.out), a.n, a.start,
              a.step, a.int_start, a.int_step);
  });
}

void linspace(const ops::LinspaceArgs& a) {
  PE_DISPATCH_NUMERIC(a.dtype, "linspace", [&] {
    PE_LAUNCH(linspace_elements<scalar_t>, blocks_for(a.n), kThreads, 0, static_cast<scalar_t*>(a.out),
              creation::Linspace<scalar_t>(a.start, a.end, a.n));
  });
}

void eye(const ops::EyeArgs& a) {
  const int64_t total = a.n * a.m;
  PE_DISPATCH_ALL(a.dtype, "eye", [&] {
    PE_LAUNCH(eye_elements<scalar_t>, blocks_for(total), kThreads, 0, static_cast<scalar_t*>(a.out), total, a.m);
  });
}

}  // namespace

PE_REGISTER_CUDA_KERNEL(ops::arange_kernel, arange);
PE_REGISTER_CUDA_KERNEL(ops::linspace_kernel, linspace);
PE_REGISTER_CUDA_KERNEL(ops::eye_kernel, eye);

}  // namespace pe::cuda

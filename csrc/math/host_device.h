// PE_HOST_DEVICE marks math that both backends run: __host__ __device__ under nvcc, nothing
// under a host compiler (which is also how the emulated-GPU build compiles cuda/*.cu). Headers
// in csrc/math/ include only this, the C++ standard library's <cmath>-level headers, and each
// other: they sit below both backends and above nothing.
#pragma once

#if defined(__CUDACC__)
#define PE_HOST_DEVICE __host__ __device__
#else
#define PE_HOST_DEVICE
#endif

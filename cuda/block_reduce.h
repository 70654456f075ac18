// Block-wide reductions for kernels that give one block a row (softmax, normalization): every
// thread contributes a value and every thread gets the combined result back. A warp combines
// with XOR shuffles (all lanes end with the warp's value), one partial per warp goes through
// shared memory, and each warp then combines the partials the same way. Every thread of the
// block must call it (it has barriers), with blockDim.x a multiple of 32 (full-warp shuffles).
#pragma once
#include <cmath>

#include "cuda/cuda_emu.h"

namespace pe::cuda {

struct BlockSum {
  template <class T>
  __host__ __device__ static T identity() { return T(0); }
  template <class T>
  __host__ __device__ static T combine(T a, T b) { return a + b; }
};

// Max that propagates NaN: once either side is NaN the result is NaN.
struct BlockMaxNan {
  template <class T>
  __host__ __device__ static T identity() { return -INFINITY; }
  template <class T>
  __host__ __device__ static T combine(T a, T b) { return (b > a || b != b) ? b : a; }
};

template <class Op, class T>
__device__ __forceinline__ T warp_allreduce(T v) {
  for (int delta = warpSize / 2; delta > 0; delta /= 2)
    v = Op::template combine<T>(v, __shfl_xor_sync(0xffffffffu, v, delta));
  return v;
}

template <class Op, class T>
__device__ T block_allreduce(T v) {
  __shared__ T partial[32];  // one per warp (at most 1024 threads)
  const int lane = threadIdx.x % warpSize, warp = threadIdx.x / warpSize;
  const int nwarps = blockDim.x / warpSize;
  v = warp_allreduce<Op>(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = warp_allreduce<Op>(lane < nwarps ? partial[lane] : Op::template identity<T>());
  __syncthreads();  // `partial` may be reused by the caller's next reduction
  return v;
}

// Threads for a block that walks rows of n elements: whole warps, at most `max_threads`.
inline int row_block_threads(int64_t n, int max_threads = 256) {
  const int64_t warps = (n + 31) / 32;
  return static_cast<int>(warps < 1 ? 32 : (warps * 32 > max_threads ? max_threads : warps * 32));
}

}  // namespace pe::cuda

// Kernels that exercise cuda_emu.h itself (barriers, warp shuffles, atomics, dynamic shared
// memory, error propagation), for tests/test_cuda_emulated.py. Emulation module only.
#pragma once
#include <cstdint>

namespace pe::cuda::selftest {

// y = x with every chunk of `block` elements reversed, through shared memory.
void block_reverse(double* y, const double* x, int64_t n, int block);
// One block of `threads` threads, thread t holding x[t]: out_down[t] = the value lane t holds
// after a __shfl_down_sync sum tree (lane 0: its warp's sum), out_xor[t] = after a
// __shfl_xor_sync butterfly (every lane: its warp's sum).
void warp_sums(double* out_down, double* out_xor, const double* x, int threads);
// grid x block threads each atomicAdd 1 to an int64 counter and `value` to a double.
void atomic_count(int64_t* count, double* total, double value, int grid, int block);
// Thread `bad` (of `threads`, one block) throws; the others wait at __syncthreads().
void throw_in_thread(int threads, int bad);
// Thread 0 returns before a __syncthreads() the other threads reach.
void divergent_barrier(int threads);
// A launch with `threads` threads per block (CUDA allows at most 1024).
void launch_with(int threads);

}  // namespace pe::cuda::selftest
